//! Reading one input into text, with the limits every untrusted input gets.

use std::io::Read;
use std::path::Path;

use crate::model::{InvalidInput, Location, position_after};

/// Largest input read. Real manifests are kilobytes; a bigger file is refused before it
/// is read, so memory stays bounded whatever is checked.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The text of one input, named as the user named it.
#[derive(Debug, Clone)]
pub struct SourceText {
    pub path: String,
    pub text: String,
}

/// Reads a file; every failure is an `invalid-input` naming the file (and line, for bad
/// UTF-8).
pub fn read_file(path: &Path) -> Result<SourceText, InvalidInput> {
    let display = path.display().to_string();
    let fail = |message: String| problem(&display, 1, 1, message);
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let size = file
        .metadata()
        .map_err(|e| fail(format!("cannot read: {e}")))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(fail(too_large(size)));
    }
    read_limited(file, &display)
}

/// Reads standard input with the same limits as a file; it is named `-`.
pub fn read_stdin() -> Result<SourceText, InvalidInput> {
    read_limited(std::io::stdin().lock(), "-")
}

/// Reads at most one byte more than the limit so an oversized stream is refused without
/// buffering it whole.
pub fn read_limited(reader: impl Read, display: &str) -> Result<SourceText, InvalidInput> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| problem(display, 1, 1, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        // Only the first bytes past the limit were read: the real size is unknown.
        let message = format!(
            "the input is larger than the {} MiB limit for a manifest",
            MAX_FILE_BYTES / (1024 * 1024)
        );
        return Err(problem(display, 1, 1, message));
    }
    decode(bytes, display)
}

fn decode(bytes: Vec<u8>, display: &str) -> Result<SourceText, InvalidInput> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceText {
            path: display.to_string(),
            text,
        }),
        Err(error) => {
            // Lines and columns as the YAML parser counts them, in characters; the bytes
            // before the first bad one are valid UTF-8 by definition.
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let (line, column) = position_after(std::str::from_utf8(valid).unwrap_or_default());
            Err(problem(
                display,
                line,
                column,
                "the file is not UTF-8 text (a binary file?)".into(),
            ))
        }
    }
}

fn too_large(size: u64) -> String {
    format!(
        "the file is {} MiB, more than the {} MiB limit for a manifest",
        size / (1024 * 1024),
        MAX_FILE_BYTES / (1024 * 1024)
    )
}

fn problem(path: &str, line: u32, column: u32, message: String) -> InvalidInput {
    InvalidInput::unread(Location::new(path, line, column), message)
}
