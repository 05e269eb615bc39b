//! Compose `ports:` entries — the short syntax (`"127.0.0.1:8000-8001:80-81/udp"`), the bare
//! integer form and the long syntax's values — normalised to one [`PortSpec`].
//!
//! The short syntax follows Docker's `nat.ParsePortSpec` (docker/go-connections), which
//! Compose uses too, so that what this tool reports matches what the engine will publish:
//!
//! * The entry is split on its **last two** colons into `IP`, `HOST` and `CONTAINER`, so a
//!   bare IPv6 address works (`"::1:6001:6001"`) as well as a bracketed one
//!   (`"[::1]:6001:6001"`). An empty `IP` means all addresses, an empty `HOST` an
//!   ephemeral host port (`"127.0.0.1::5000"`, `"::80"`, even `":80"`).
//! * A host range of the same length as the container range maps pairwise; a host range
//!   for a single container port is a pool the engine picks one free port from; a single
//!   host port for a container range is an error.
//! * `CONTAINER` may end in `/tcp`, `/udp` or `/sctp` in any case; a bare `/` means tcp.
//!
//! Where Docker is laxer than its own documentation this parser is stricter, because such
//! entries are almost certainly typos: port 0 (Docker reads a host port 0 as "ephemeral"),
//! a sign (`+80`), an empty bracket pair as the address (`"[]:80:80"`).

use std::fmt;
use std::net::IpAddr;

use crate::model::Protocol;

/// An inclusive range of ports; a single port is start == end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

impl PortRange {
    pub fn single(port: u16) -> PortRange {
        PortRange {
            start: port,
            end: port,
        }
    }

    pub fn is_single(self) -> bool {
        self.start == self.end
    }

    /// How many ports the range holds. `u32` because a range built by hand may hold all
    /// 65536 values of `u16`; a reversed one holds none.
    pub fn port_count(self) -> u32 {
        (u32::from(self.end) + 1).saturating_sub(u32::from(self.start))
    }

    pub fn ports(self) -> impl Iterator<Item = u16> {
        self.start..=self.end
    }
}

/// `80` or `80-81`, as the short syntax writes it.
impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_single() {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// One `ports:` entry of a Compose service, after parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// Host address to publish on, without brackets (`127.0.0.1`, `::1`); None = all
    /// addresses. `0.0.0.0` and `::` stay as written: Docker binds them to one address
    /// family only, unlike an absent address.
    pub host_ip: Option<IpAddr>,
    /// Host port(s); None = the engine picks an ephemeral port.
    pub published: Option<PortRange>,
    pub target: PortRange,
    pub protocol: Protocol,
}

impl PortSpec {
    /// The (published, target) pairs this entry opens, in order.
    ///
    /// A host range as long as the container range maps pairwise. A host range for a
    /// single container port (`"8000-8010:80"`) yields ONE pair whose published port is
    /// None: Docker picks one free port of the range when the container starts, so which
    /// one is unknown here, exactly as for an ephemeral port. The same holds for any other
    /// mismatch a hand-built spec may have.
    pub fn pairs(&self) -> Vec<(Option<u16>, u16)> {
        match self.published {
            Some(host) if host.port_count() == self.target.port_count() => host
                .ports()
                .zip(self.target.ports())
                .map(|(host, target)| (Some(host), target))
                .collect(),
            _ => self.target.ports().map(|target| (None, target)).collect(),
        }
    }
}

/// The canonical short syntax: IPv6 in brackets, single ports without `-`, and no
/// protocol suffix for tcp, the default. Parsing the output gives back the same spec.
impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.host_ip, self.published) {
            (None, None) => {}
            (None, Some(published)) => write!(f, "{published}:")?,
            (Some(ip), published) => {
                write_host_ip(f, ip)?;
                f.write_str(":")?;
                if let Some(published) = published {
                    write!(f, "{published}")?;
                }
                f.write_str(":")?;
            }
        }
        write!(f, "{}{}", self.target, protocol_suffix(self.protocol))
    }
}

fn write_host_ip(f: &mut fmt::Formatter<'_>, ip: IpAddr) -> fmt::Result {
    match ip {
        IpAddr::V4(v4) => write!(f, "{v4}"),
        IpAddr::V6(v6) => write!(f, "[{v6}]"),
    }
}

/// Lower case because that is how Compose files spell protocols.
fn protocol_suffix(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "",
        Protocol::Udp => "/udp",
        Protocol::Sctp => "/sctp",
    }
}

/// Why a `ports:` entry is not valid. Every variant names the offending part as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortSyntaxError {
    #[error("empty port")]
    Empty,
    #[error("no container port in `{spec}`")]
    MissingContainerPort { spec: String },
    #[error("a long-syntax port has no `target`")]
    MissingTarget,
    #[error("invalid port `{text}`: ports are whole numbers from 1 to 65535")]
    InvalidPort { text: String },
    #[error("invalid port range `{text}`: expected START-END")]
    InvalidRange { text: String },
    #[error("invalid port range `{text}`: it ends below its start")]
    ReversedRange { text: String },
    #[error("long-syntax `target` must be a single port, not the range `{text}`")]
    TargetRange { text: String },
    #[error("invalid host address `{text}`")]
    InvalidHostIp { text: String },
    #[error("unknown protocol `{text}`: expected tcp, udp or sctp")]
    UnknownProtocol { text: String },
    #[error(
        "host range {host} has {} ports but container range {container} has {}",
        .host.port_count(),
        .container.port_count()
    )]
    RangeMismatch {
        host: PortRange,
        container: PortRange,
    },
    #[error(
        "host port {host} is a single port but container range {container} has {} ports",
        .container.port_count()
    )]
    SingleHostPortForRange { host: u16, container: PortRange },
}

/// Parses one short-syntax entry, `[[IP:]HOST:]CONTAINER[/PROTOCOL]`.
pub fn parse_short_syntax(text: &str) -> Result<PortSpec, PortSyntaxError> {
    let spec = text.trim();
    if spec.is_empty() {
        return Err(PortSyntaxError::Empty);
    }
    let (ip_text, host_text, container_text) = split_parts(spec);
    let (port_text, protocol_text) = split_protocol(container_text);
    if port_text.is_empty() {
        return Err(PortSyntaxError::MissingContainerPort {
            spec: spec.to_owned(),
        });
    }
    let protocol = parse_protocol(protocol_text)?;
    let host_ip = parse_host_ip(ip_text)?;
    let target = parse_range(port_text)?;
    let published = parse_published(host_text)?;
    check_ranges(published, target)?;
    Ok(PortSpec {
        host_ip,
        published,
        target,
        protocol,
    })
}

/// Compose's integer form (`- 80`): a container port published on an ephemeral host port.
pub fn from_integer(n: i64) -> Result<PortSpec, PortSyntaxError> {
    let port = u16::try_from(n)
        .ok()
        .filter(|&port| port != 0)
        .ok_or_else(|| PortSyntaxError::InvalidPort {
            text: n.to_string(),
        })?;
    Ok(PortSpec {
        host_ip: None,
        published: None,
        target: PortRange::single(port),
        protocol: Protocol::Tcp,
    })
}

/// The values of one long-syntax entry, each as the text of its YAML scalar (a YAML
/// integer passed as its decimal text). Absent and empty values mean the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LongSyntax<'a> {
    pub target: &'a str,
    pub published: Option<&'a str>,
    pub host_ip: Option<&'a str>,
    pub protocol: Option<&'a str>,
}

/// Normalises a long-syntax entry. `target` is one port (Compose stores it as an integer);
/// `published` may be a port or a range, with the same pool meaning as the short syntax;
/// `host_ip` may be written with or without brackets.
pub fn from_long_syntax(long: LongSyntax<'_>) -> Result<PortSpec, PortSyntaxError> {
    let target_text = long.target.trim();
    if target_text.is_empty() {
        return Err(PortSyntaxError::MissingTarget);
    }
    let target = parse_range(target_text)?;
    if !target.is_single() {
        return Err(PortSyntaxError::TargetRange {
            text: target_text.to_owned(),
        });
    }
    let protocol = parse_protocol(long.protocol.unwrap_or_default().trim())?;
    let host_ip = parse_host_ip(long.host_ip.unwrap_or_default().trim())?;
    let published = parse_published(long.published.unwrap_or_default().trim())?;
    Ok(PortSpec {
        host_ip,
        published,
        target,
        protocol,
    })
}

/// Splits on the last two colons, as Docker's `splitParts` does, which is what lets a bare
/// IPv6 address keep its own colons. Missing parts come back empty.
fn split_parts(spec: &str) -> (&str, &str, &str) {
    let mut parts = spec.rsplitn(3, ':');
    let container = parts.next().unwrap_or_default();
    let host = parts.next().unwrap_or_default();
    let ip = parts.next().unwrap_or_default();
    (ip, host, container)
}

/// `80/udp` → (`80`, `udp`). Only the first `/` splits, so `80/tcp/udp` fails as an
/// unknown protocol `tcp/udp`, as in Docker.
fn split_protocol(container: &str) -> (&str, &str) {
    container.split_once('/').unwrap_or((container, ""))
}

/// An empty protocol (absent, or `80/` which Docker also accepts) is tcp.
fn parse_protocol(text: &str) -> Result<Protocol, PortSyntaxError> {
    if text.is_empty() {
        return Ok(Protocol::Tcp);
    }
    Protocol::parse(text).ok_or_else(|| PortSyntaxError::UnknownProtocol {
        text: text.to_owned(),
    })
}

/// Empty means all addresses. Brackets are optional for any address, as in Docker, but
/// must come in a pair around something.
fn parse_host_ip(text: &str) -> Result<Option<IpAddr>, PortSyntaxError> {
    if text.is_empty() {
        return Ok(None);
    }
    let bare = match text.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']'),
        None => Some(text),
    };
    bare.and_then(|bare| bare.parse::<IpAddr>().ok())
        .map(Some)
        .ok_or_else(|| PortSyntaxError::InvalidHostIp {
            text: text.to_owned(),
        })
}

/// Empty means an ephemeral host port.
fn parse_published(text: &str) -> Result<Option<PortRange>, PortSyntaxError> {
    if text.is_empty() {
        Ok(None)
    } else {
        parse_range(text).map(Some)
    }
}

/// `80` or `80-90`; both ends required, exactly one `-`.
fn parse_range(text: &str) -> Result<PortRange, PortSyntaxError> {
    let Some((start, end)) = text.split_once('-') else {
        return parse_port(text).map(PortRange::single);
    };
    if start.is_empty() || end.is_empty() || end.contains('-') {
        return Err(PortSyntaxError::InvalidRange {
            text: text.to_owned(),
        });
    }
    let range = PortRange {
        start: parse_port(start)?,
        end: parse_port(end)?,
    };
    if range.end < range.start {
        return Err(PortSyntaxError::ReversedRange {
            text: text.to_owned(),
        });
    }
    Ok(range)
}

/// Digits only: `u16::from_str` alone would also take a leading `+`. Leading zeros are
/// fine, as in Docker.
fn parse_port(text: &str) -> Result<u16, PortSyntaxError> {
    let all_digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    all_digits
        .then(|| text.parse::<u16>().ok())
        .flatten()
        .filter(|&port| port != 0)
        .ok_or_else(|| PortSyntaxError::InvalidPort {
            text: text.to_owned(),
        })
}

/// Docker allows a host range for a single container port (a pool) and equal lengths
/// (pairwise); anything else cannot be mapped.
fn check_ranges(published: Option<PortRange>, target: PortRange) -> Result<(), PortSyntaxError> {
    let Some(host) = published else {
        return Ok(());
    };
    if target.is_single() || host.port_count() == target.port_count() {
        Ok(())
    } else if host.is_single() {
        Err(PortSyntaxError::SingleHostPortForRange {
            host: host.start,
            container: target,
        })
    } else {
        Err(PortSyntaxError::RangeMismatch {
            host,
            container: target,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    type Pairs = Vec<(Option<u16>, u16)>;

    fn range(start: u16, end: u16) -> PortRange {
        PortRange { start, end }
    }

    fn spec(
        host_ip: Option<&str>,
        published: Option<(u16, u16)>,
        target: (u16, u16),
        protocol: Protocol,
    ) -> PortSpec {
        PortSpec {
            host_ip: host_ip.map(|ip| ip.parse().unwrap()),
            published: published.map(|(start, end)| range(start, end)),
            target: range(target.0, target.1),
            protocol,
        }
    }

    fn ephemeral(targets: std::ops::RangeInclusive<u16>) -> Pairs {
        targets.map(|target| (None, target)).collect()
    }

    fn mapped(host: u16, targets: std::ops::RangeInclusive<u16>) -> Pairs {
        // Offsets rather than `host..`, which overflows when it reaches 65535.
        let first = *targets.start();
        targets.map(|t| (Some(host + (t - first)), t)).collect()
    }

    use Protocol::{Sctp, Tcp, Udp};

    #[test]
    fn parses_documented_and_docker_examples() {
        #[rustfmt::skip]
        let cases: Vec<(&str, PortSpec, Pairs)> = vec![
            ("3000", spec(None, None, (3000, 3000), Tcp), ephemeral(3000..=3000)),
            ("3000-3005", spec(None, None, (3000, 3005), Tcp), ephemeral(3000..=3005)),
            ("8000:8000", spec(None, Some((8000, 8000)), (8000, 8000), Tcp), mapped(8000, 8000..=8000)),
            ("9090-9091:8080-8081", spec(None, Some((9090, 9091)), (8080, 8081), Tcp), mapped(9090, 8080..=8081)),
            ("49100:22", spec(None, Some((49100, 49100)), (22, 22), Tcp), mapped(49100, 22..=22)),
            ("8000-9000:80", spec(None, Some((8000, 9000)), (80, 80), Tcp), ephemeral(80..=80)),
            ("127.0.0.1:8001:8001", spec(Some("127.0.0.1"), Some((8001, 8001)), (8001, 8001), Tcp), mapped(8001, 8001..=8001)),
            ("127.0.0.1:5000-5010:5000-5010", spec(Some("127.0.0.1"), Some((5000, 5010)), (5000, 5010), Tcp), mapped(5000, 5000..=5010)),
            ("127.0.0.1::5000", spec(Some("127.0.0.1"), None, (5000, 5000), Tcp), ephemeral(5000..=5000)),
            ("6060:6060/udp", spec(None, Some((6060, 6060)), (6060, 6060), Udp), mapped(6060, 6060..=6060)),
            ("[::1]:6001:6001", spec(Some("::1"), Some((6001, 6001)), (6001, 6001), Tcp), mapped(6001, 6001..=6001)),
            ("[::1]:25:25", spec(Some("::1"), Some((25, 25)), (25, 25), Tcp), mapped(25, 25..=25)),
            // Docker splits on the last two colons, so a bare IPv6 address works too.
            ("::1:6001:6001", spec(Some("::1"), Some((6001, 6001)), (6001, 6001), Tcp), mapped(6001, 6001..=6001)),
            ("fe80::1::53/udp", spec(Some("fe80::1"), None, (53, 53), Udp), ephemeral(53..=53)),
            ("::::80", spec(Some("::"), None, (80, 80), Tcp), ephemeral(80..=80)),
            ("0.0.0.0:25:25", spec(Some("0.0.0.0"), Some((25, 25)), (25, 25), Tcp), mapped(25, 25..=25)),
            (":25:25", spec(None, Some((25, 25)), (25, 25), Tcp), mapped(25, 25..=25)),
            ("127.0.0.1:8000-8001:80-81/udp", spec(Some("127.0.0.1"), Some((8000, 8001)), (80, 81), Udp), mapped(8000, 80..=81)),
            ("25:25/TCP", spec(None, Some((25, 25)), (25, 25), Tcp), mapped(25, 25..=25)),
            // Docker-accepted oddities.
            ("::80", spec(None, None, (80, 80), Tcp), ephemeral(80..=80)),
            (":80", spec(None, None, (80, 80), Tcp), ephemeral(80..=80)),
            ("80/", spec(None, None, (80, 80), Tcp), ephemeral(80..=80)),
            ("[127.0.0.1]:80:80", spec(Some("127.0.0.1"), Some((80, 80)), (80, 80), Tcp), mapped(80, 80..=80)),
            ("0080:080", spec(None, Some((80, 80)), (80, 80), Tcp), mapped(80, 80..=80)),
            ("80-80", spec(None, None, (80, 80), Tcp), ephemeral(80..=80)),
            ("8000-8000:80", spec(None, Some((8000, 8000)), (80, 80), Tcp), mapped(8000, 80..=80)),
            ("1-3/Sctp", spec(None, None, (1, 3), Sctp), ephemeral(1..=3)),
            ("65535:65535", spec(None, Some((65535, 65535)), (65535, 65535), Tcp), mapped(65535, 65535..=65535)),
            ("  \t443:443/udp \n", spec(None, Some((443, 443)), (443, 443), Udp), mapped(443, 443..=443)),
        ];
        for (text, expected, pairs) in cases {
            let parsed = parse_short_syntax(text);
            assert_eq!(parsed.as_ref(), Ok(&expected), "parsing {text:?}");
            assert_eq!(expected.pairs(), pairs, "pairs of {text:?}");
        }
    }

    #[test]
    fn rejects_malformed_entries_with_the_exact_error() {
        fn port(text: &str) -> PortSyntaxError {
            PortSyntaxError::InvalidPort { text: text.into() }
        }
        fn ip(text: &str) -> PortSyntaxError {
            PortSyntaxError::InvalidHostIp { text: text.into() }
        }
        fn bad_range(text: &str) -> PortSyntaxError {
            PortSyntaxError::InvalidRange { text: text.into() }
        }
        fn protocol(text: &str) -> PortSyntaxError {
            PortSyntaxError::UnknownProtocol { text: text.into() }
        }
        fn no_container(spec: &str) -> PortSyntaxError {
            PortSyntaxError::MissingContainerPort { spec: spec.into() }
        }
        #[rustfmt::skip]
        let cases: Vec<(&str, PortSyntaxError)> = vec![
            ("", PortSyntaxError::Empty),
            (" \t ", PortSyntaxError::Empty),
            ("70000", port("70000")),
            ("99999999999999999999999", port("99999999999999999999999")),
            ("0", port("0")),
            ("0:80", port("0")),
            ("80:0-5", port("0")),
            ("+80", port("+80")),
            ("8 0", port("8 0")),
            ("abc", port("abc")),
            // Two parts are HOST:CONTAINER, so an address needs the empty host port.
            ("127.0.0.1:80", port("127.0.0.1")),
            ("80/udp:80", port("80/udp")),
            ("80-", bad_range("80-")),
            ("-80", bad_range("-80")),
            ("80-90-100", bad_range("80-90-100")),
            ("90-80", PortSyntaxError::ReversedRange { text: "90-80".into() }),
            ("8000-8002:80-81", PortSyntaxError::RangeMismatch { host: range(8000, 8002), container: range(80, 81) }),
            ("8000:80-81", PortSyntaxError::SingleHostPortForRange { host: 8000, container: range(80, 81) }),
            ("1.2.3:80:80", ip("1.2.3")),
            ("[]:80:80", ip("[]")),
            ("[::1:80:80", ip("[::1")),
            ("fe80::1%eth0:80:80", ip("fe80::1%eth0")),
            // The last two colons split, leaving `:` as the address.
            (":::80", ip(":")),
            ("[::1]:80", ip("[:")),
            ("80/tcpx", protocol("tcpx")),
            ("80/tcp/udp", protocol("tcp/udp")),
            ("80:", no_container("80:")),
            ("/udp", no_container("/udp")),
            ("127.0.0.1:80:", no_container("127.0.0.1:80:")),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_short_syntax(text), Err(expected), "parsing {text:?}");
        }
    }

    #[test]
    fn error_messages_name_the_offending_part() {
        let message = |text: &str| parse_short_syntax(text).unwrap_err().to_string();
        assert_eq!(
            message("8000-8002:80-81"),
            "host range 8000-8002 has 3 ports but container range 80-81 has 2"
        );
        assert_eq!(
            message("8000:80-81"),
            "host port 8000 is a single port but container range 80-81 has 2 ports"
        );
        assert_eq!(
            message("70000"),
            "invalid port `70000`: ports are whole numbers from 1 to 65535"
        );
        assert_eq!(message("1.2.3:80:80"), "invalid host address `1.2.3`");
        assert_eq!(
            message("80/tcpx"),
            "unknown protocol `tcpx`: expected tcp, udp or sctp"
        );
        assert_eq!(message(""), "empty port");
        assert_eq!(
            message("90-80"),
            "invalid port range `90-80`: it ends below its start"
        );
    }

    #[test]
    fn renders_canonical_short_syntax() {
        let cases = [
            ("3000", "3000"),
            ("80-80:0080", "80:80"),
            ("::1:6001:6001/TCP", "[::1]:6001:6001"),
            ("127.0.0.1::5000/UDP", "127.0.0.1::5000/udp"),
            (":25:25", "25:25"),
            ("::80", "80"),
            ("8000-9000:80/sctp", "8000-9000:80/sctp"),
            ("[127.0.0.1]:80-81:90-91", "127.0.0.1:80-81:90-91"),
        ];
        for (text, canonical) in cases {
            let parsed = parse_short_syntax(text).unwrap();
            assert_eq!(parsed.to_string(), canonical, "rendering {text:?}");
        }
    }

    #[test]
    fn pairs_of_hand_built_mismatch_are_ephemeral() {
        let odd = spec(None, Some((1, 2)), (10, 12), Tcp);
        assert_eq!(odd.pairs(), ephemeral(10..=12));
    }

    #[test]
    fn integer_form_is_a_container_port() {
        assert_eq!(from_integer(80), Ok(spec(None, None, (80, 80), Tcp)));
        assert_eq!(
            from_integer(65535),
            Ok(spec(None, None, (65535, 65535), Tcp))
        );
        for bad in [0, -1, 65536, i64::MAX, i64::MIN] {
            assert_eq!(
                from_integer(bad),
                Err(PortSyntaxError::InvalidPort {
                    text: bad.to_string()
                })
            );
        }
    }

    #[test]
    fn long_syntax_values_normalise() {
        let long = |target, published, host_ip, protocol| LongSyntax {
            target,
            published,
            host_ip,
            protocol,
        };
        #[rustfmt::skip]
        let ok = [
            (long("80", None, None, None), spec(None, None, (80, 80), Tcp)),
            (long(" 80 ", Some(""), Some(""), Some("")), spec(None, None, (80, 80), Tcp)),
            (long("80", Some("8080"), Some("127.0.0.1"), Some("UDP")), spec(Some("127.0.0.1"), Some((8080, 8080)), (80, 80), Udp)),
            (long("80", Some("8000-8010"), Some("::1"), None), spec(Some("::1"), Some((8000, 8010)), (80, 80), Tcp)),
            (long("80", Some("8080"), Some("[::1]"), Some("sctp")), spec(Some("::1"), Some((8080, 8080)), (80, 80), Sctp)),
        ];
        for (input, expected) in ok {
            assert_eq!(from_long_syntax(input), Ok(expected), "{input:?}");
        }
        #[rustfmt::skip]
        let bad = [
            (long("", None, None, None), PortSyntaxError::MissingTarget),
            (long("80-81", None, None, None), PortSyntaxError::TargetRange { text: "80-81".into() }),
            (long("0", None, None, None), PortSyntaxError::InvalidPort { text: "0".into() }),
            (long("80", Some("x"), None, None), PortSyntaxError::InvalidPort { text: "x".into() }),
            (long("80", None, Some("1.2.3"), None), PortSyntaxError::InvalidHostIp { text: "1.2.3".into() }),
            (long("80", None, None, Some("icmp")), PortSyntaxError::UnknownProtocol { text: "icmp".into() }),
        ];
        for (input, expected) in bad {
            assert_eq!(from_long_syntax(input), Err(expected), "{input:?}");
        }
    }

    /// How the generated entry writes its host address; Absent and Empty differ only in
    /// text (`80:80` vs `:80:80`), never in meaning.
    #[derive(Debug, Clone)]
    enum HostIpModel {
        Absent,
        Empty,
        Written(&'static str, IpAddr),
    }

    impl HostIpModel {
        fn ip(&self) -> Option<IpAddr> {
            match self {
                HostIpModel::Written(_, ip) => Some(*ip),
                _ => None,
            }
        }
    }

    /// The host part, chosen so that it is always consistent with the target.
    #[derive(Debug, Clone)]
    enum PublishedModel {
        Ephemeral,
        /// Pairwise: host range as long as the target range, starting here.
        Mapped(u16),
        /// A host range (at least two ports) for a single target port.
        Pool(PortRange),
    }

    #[derive(Debug, Clone)]
    struct Model {
        host_ip: HostIpModel,
        published: PublishedModel,
        target: PortRange,
        /// The protocol as written (random case), or None for no suffix.
        protocol: Option<(String, Protocol)>,
    }

    impl Model {
        fn render(&self) -> String {
            let target = self.target.to_string();
            let published = match &self.published {
                PublishedModel::Ephemeral => String::new(),
                PublishedModel::Mapped(start) => self.host_range(*start).to_string(),
                PublishedModel::Pool(pool) => pool.to_string(),
            };
            let mut text = match (&self.host_ip, published.is_empty()) {
                (HostIpModel::Absent, true) => target,
                (HostIpModel::Absent, false) => format!("{published}:{target}"),
                (HostIpModel::Empty, _) => format!(":{published}:{target}"),
                (HostIpModel::Written(ip, _), _) => format!("{ip}:{published}:{target}"),
            };
            if let Some((written, _)) = &self.protocol {
                text.push('/');
                text.push_str(written);
            }
            text
        }

        fn host_range(&self, start: u16) -> PortRange {
            range(start, start + (self.target.end - self.target.start))
        }

        fn expected(&self) -> PortSpec {
            PortSpec {
                host_ip: self.host_ip.ip(),
                published: match &self.published {
                    PublishedModel::Ephemeral => None,
                    PublishedModel::Mapped(start) => Some(self.host_range(*start)),
                    PublishedModel::Pool(pool) => Some(*pool),
                },
                target: self.target,
                protocol: self.protocol.as_ref().map_or(Tcp, |(_, p)| *p),
            }
        }

        /// Written from the model's cases rather than from `PortSpec`, so it checks
        /// `pairs()` instead of restating it.
        fn expected_pairs(&self) -> Pairs {
            match &self.published {
                PublishedModel::Ephemeral => ephemeral(self.target.start..=self.target.end),
                PublishedModel::Mapped(start) => {
                    mapped(*start, self.target.start..=self.target.end)
                }
                PublishedModel::Pool(_) => vec![(None, self.target.start)],
            }
        }
    }

    fn host_ip_model() -> impl Strategy<Value = HostIpModel> {
        let v4 = |text: &'static str, ip: [u8; 4]| {
            HostIpModel::Written(text, IpAddr::V4(Ipv4Addr::from(ip)))
        };
        let v6 = |text: &'static str, ip: Ipv6Addr| HostIpModel::Written(text, IpAddr::V6(ip));
        prop_oneof![
            Just(HostIpModel::Absent),
            Just(HostIpModel::Empty),
            Just(v4("127.0.0.1", [127, 0, 0, 1])),
            Just(v4("0.0.0.0", [0, 0, 0, 0])),
            Just(v4("192.168.1.10", [192, 168, 1, 10])),
            Just(v6("[::1]", Ipv6Addr::LOCALHOST)),
            Just(v6("[::]", Ipv6Addr::UNSPECIFIED)),
            Just(v6(
                "[2001:db8::5]",
                Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5)
            )),
            Just(v6("::1", Ipv6Addr::LOCALHOST)),
            Just(v6("fe80::1", Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1))),
        ]
    }

    fn protocol_model() -> impl Strategy<Value = Option<(String, Protocol)>> {
        let named = prop_oneof![Just(("tcp", Tcp)), Just(("udp", Udp)), Just(("sctp", Sctp))];
        // Four flags cover the longest name, `sctp`.
        let cased =
            (named, prop::collection::vec(any::<bool>(), 4)).prop_map(|((name, p), upper)| {
                let written = name
                    .chars()
                    .zip(upper)
                    .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
                    .collect();
                (written, p)
            });
        prop::option::of(cased)
    }

    /// A range of `extra + 1` ports starting near `start`, moved down to fit below 65536.
    fn fitted(start: u16, extra: u16) -> PortRange {
        let start = start.min(u16::MAX - extra);
        range(start, start + extra)
    }

    fn model() -> impl Strategy<Value = Model> {
        model_with_target_extra(20)
    }

    /// `max_extra` caps how many ports the target range has beyond its first.
    fn model_with_target_extra(max_extra: u16) -> impl Strategy<Value = Model> {
        (
            host_ip_model(),
            0u8..3,
            1u16..=u16::MAX,
            0u16..=max_extra,
            1u16..=u16::MAX,
            1u16..=20,
            protocol_model(),
        )
            .prop_map(
                |(host_ip, kind, target_start, target_extra, host_start, pool_extra, protocol)| {
                    let (published, target) = match kind {
                        0 => (
                            PublishedModel::Ephemeral,
                            fitted(target_start, target_extra),
                        ),
                        1 => {
                            let host = fitted(host_start, target_extra);
                            let target = fitted(target_start, target_extra);
                            (PublishedModel::Mapped(host.start), target)
                        }
                        _ => (
                            PublishedModel::Pool(fitted(host_start, pool_extra)),
                            PortRange::single(target_start),
                        ),
                    };
                    Model {
                        host_ip,
                        published,
                        target,
                        protocol,
                    }
                },
            )
    }

    /// Entries shaped like `[IP:][HOST:]CONTAINER[/PROTOCOL]` from valid and nearly valid
    /// parts, so the round trip runs on many entries that parse, unlike random text.
    fn shaped_entry() -> impl Strategy<Value = String> {
        let ip = prop::sample::select(vec![
            "",
            "127.0.0.1",
            "0.0.0.0",
            "[::1]",
            "::1",
            "[::]",
            "fe80::1",
            "[127.0.0.1]",
            "1.2.3",
            "[]",
        ]);
        let ports = "[0-9]{1,5}(-[0-9]{1,5})?";
        let host = prop_oneof![Just(String::new()), ports];
        let protocol = "(/(tcp|UDP|sCtP|icmp)?)?";
        (
            prop::option::of(ip),
            prop::option::of(host),
            ports,
            protocol,
        )
            .prop_map(|(ip, host, container, protocol)| match (ip, host) {
                (Some(ip), host) => {
                    format!("{ip}:{}:{container}{protocol}", host.unwrap_or_default())
                }
                (None, Some(host)) => format!("{host}:{container}{protocol}"),
                (None, None) => format!("{container}{protocol}"),
            })
    }

    /// Arbitrary sequences of the syntax's pieces, for the combinations the shape misses.
    fn piecewise_entry() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[0-9]{1,5}",
            Just(":".to_owned()),
            Just("-".to_owned()),
            Just("/".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            "(tcp|UDP|sctp|icmp)",
            "(::1|127.0.0.1|fe80::1|0.0.0.0)",
        ];
        prop::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
    }

    fn check_consistent(text: &str) -> Result<(), TestCaseError> {
        if let Ok(spec) = parse_short_syntax(text) {
            let rendered = spec.to_string();
            prop_assert_eq!(
                parse_short_syntax(&rendered),
                Ok(spec.clone()),
                "{}",
                rendered
            );
            let pairs = spec.pairs();
            prop_assert!(!pairs.is_empty());
            prop_assert!(pairs.len() <= spec.target.port_count() as usize);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn parses_like_the_reference_model(model in model()) {
            let text = model.render();
            let parsed = parse_short_syntax(&text);
            prop_assert_eq!(parsed.as_ref(), Ok(&model.expected()), "{}", text);
            if let Ok(spec) = parsed {
                prop_assert_eq!(spec.pairs(), model.expected_pairs(), "{}", text);
                prop_assert_eq!(parse_short_syntax(&spec.to_string()), Ok(spec));
            }
        }

        // The long syntax's target is a single port.
        #[test]
        fn long_syntax_agrees_with_short_syntax(model in model_with_target_extra(0)) {
            let expected = model.expected();
            let published = expected.published.map(|p| p.to_string());
            let host_ip = expected.host_ip.map(|ip| ip.to_string());
            let target = model.target.to_string();
            let long = LongSyntax {
                target: &target,
                published: published.as_deref(),
                host_ip: host_ip.as_deref(),
                protocol: model.protocol.as_ref().map(|(written, _)| written.as_str()),
            };
            prop_assert_eq!(from_long_syntax(long), Ok(expected));
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".*") {
            check_consistent(&text)?;
        }

        #[test]
        fn port_alphabet_never_panics(text in "[0-9:/\\[\\]. a-z-]{0,40}") {
            check_consistent(&text)?;
        }

        #[test]
        fn round_trip_is_stable(text in prop_oneof![shaped_entry(), piecewise_entry()]) {
            check_consistent(&text)?;
        }

        #[test]
        fn integer_form_matches_its_text(n in prop_oneof![any::<i64>(), -5i64..70_000]) {
            let from_int = from_integer(n);
            prop_assert_eq!(from_int.is_ok(), (1..=65535).contains(&n));
            if from_int.is_ok() {
                prop_assert_eq!(from_int, parse_short_syntax(&n.to_string()));
            }
        }
    }
}
