//! JSON with comments and trailing commas, as TypeScript (`tsconfig.json`), VS Code
//! (`.vscode/*.json`) and Dev Containers (`devcontainer.json`) read it. It is no YAML, so
//! it fails to parse as such; with its comments and trailing commas blanked out it is
//! plain JSON, and the loader can see whether it is one of the kinds it reads.

/// The text with `//` and `/* */` comments and trailing commas replaced by spaces (line
/// breaks kept, so lines stay where they were), or `None` when it has none of them.
pub fn strip(text: &str) -> Option<String> {
    let mut bytes = text.as_bytes().to_vec();
    let mut changed = false;
    let mut in_string = false;
    // A comma followed so far only by blanks: trailing if a `}` or `]` comes next.
    let mut pending_comma: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if in_string {
            match byte {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        let next = bytes.get(i + 1).copied();
        match byte {
            b'/' if next == Some(b'/') => {
                let end = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |n| i + n);
                blank(&mut bytes[i..end]);
                changed = true;
                i = end;
                continue;
            }
            b'/' if next == Some(b'*') => {
                let end = bytes[i + 2..]
                    .windows(2)
                    .position(|w| w == b"*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
                blank(&mut bytes[i..end]);
                changed = true;
                i = end;
                continue;
            }
            b'"' => {
                in_string = true;
                pending_comma = None;
            }
            b',' => pending_comma = Some(i),
            b'}' | b']' => {
                if let Some(comma) = pending_comma.take() {
                    bytes[comma] = b' ';
                    changed = true;
                }
            }
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => pending_comma = None,
        }
        i += 1;
    }
    if !changed {
        return None;
    }
    // Only whole comments (every byte of a character) and ASCII commas became spaces.
    String::from_utf8(bytes).ok()
}

/// Spaces for everything but line breaks.
fn blank(bytes: &mut [u8]) {
    for byte in bytes.iter_mut().filter(|b| **b != b'\n') {
        *byte = b' ';
    }
}

#[cfg(test)]
mod tests {
    use super::strip;

    #[test]
    fn comments_and_trailing_commas_become_spaces_on_their_lines() {
        let text = "{\n  // a comment, with a comma,\n  \"a\": [1, 2,], /* b\n c */ \"url\": \"http://x/*y*/\",\n}\n";
        let plain = strip(text).expect("something stripped");
        assert_eq!(plain.lines().count(), text.lines().count());
        let value: serde_json::Value = serde_json::from_str(&plain).expect("plain JSON");
        assert_eq!(value["url"], "http://x/*y*/");
        assert_eq!(value["a"], serde_json::json!([1, 2]));
    }

    #[test]
    fn plain_json_is_left_alone() {
        assert_eq!(strip("{\"a\": \"// not a comment\", \"b\": [1, 2]}"), None);
        assert_eq!(strip("{\"a\": \"\\\"//\"}"), None);
    }

    #[test]
    fn an_unclosed_block_comment_runs_to_the_end() {
        assert_eq!(strip("{} /* é").as_deref(), Some("{}      "));
    }
}
