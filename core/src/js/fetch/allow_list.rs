//! The fetch allow-list: which URLs (scheme, host and port) a task may fetch, and which of
//! them may reach restricted addresses (loopback, private, link-local, ...). Parsed once
//! when the engine opens, so a malformed pattern is a configuration error, not a refusal
//! at run time.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use super::address::{self, Restricted};
use super::Refusal;

/// The URL schemes fetch speaks.
const SCHEMES: [&str; 2] = ["http", "https"];

/// The patterns of `fetch_allow`, parsed.
#[derive(Debug)]
pub(super) struct AllowList {
    patterns: Vec<Pattern>,
}

#[derive(Debug, PartialEq)]
struct Pattern {
    host: HostPattern,
    /// `None`: the scheme's default port only (80 for http, 443 for https).
    port: Option<u16>,
}

#[derive(Debug, PartialEq)]
enum HostPattern {
    /// `*`: any host, but it names no restricted address.
    Any,
    /// `*.example.com`, kept as `.example.com`: the subdomains, not the domain itself.
    Subdomains(String),
    Name(String),
    Ip(IpAddr),
}

/// A URL's host, as the allow-list compares it.
#[derive(Debug, PartialEq)]
enum Host<'a> {
    Name(&'a str),
    Ip(IpAddr),
}

impl AllowList {
    /// Parses every pattern; the error names the first malformed one and its form.
    pub fn parse(patterns: &[String]) -> Result<AllowList, String> {
        let patterns = patterns
            .iter()
            .map(|text| {
                Pattern::parse(text).map_err(|why| {
                    format!(
                        "fetch_allow pattern `{text}` {why}; write a host with an optional port: `api.example.com`, \
                         `api.example.com:8080`, `*.example.com`, `*`, `127.0.0.1:8080`, `[::1]:8080`"
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(AllowList { patterns })
    }

    /// Whether `url` may be fetched: its scheme, its host and port, and, for a restricted
    /// address or `localhost`, a pattern that names it. Resolved addresses of other names
    /// are checked when they are resolved (see `address::Resolver`).
    pub fn check(&self, url: &reqwest::Url) -> Result<(), Refusal> {
        if !SCHEMES.contains(&url.scheme()) {
            return Err(Refusal(format!("only http and https URLs can be fetched, not `{}:` URLs", url.scheme())));
        }
        let host = Host::of(url).ok_or_else(|| Refusal(format!("`{url}` has no host")))?;
        let port = url.port_or_known_default().unwrap_or_default();
        let default_port = url.port().is_none();
        let matching: Vec<&Pattern> = self.patterns.iter().filter(|p| p.matches(&host, port, default_port)).collect();
        let shown = shown(url);
        if matching.is_empty() {
            return Err(Refusal(format!(
                "`{shown}` is not on the fetch allow-list {self}; add `{shown}` to the engine's fetch_allow (or mock the request)"
            )));
        }
        let restricted = match host {
            Host::Ip(ip) => address::restriction(ip).map(|kind| (ip.to_string(), kind)),
            Host::Name(name) if name == address::LOCALHOST => Some((name.to_string(), Restricted::Loopback)),
            Host::Name(_) => None,
        };
        match restricted {
            Some((what, kind)) if !matching.iter().any(|p| p.host.names(&host)) => Err(Refusal(format!(
                "`{what}` is {kind}, which the fetch allow-list {self} does not name (`*` and wildcards never do); \
                 add `{shown}` to the engine's fetch_allow to reach it"
            ))),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for AllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let patterns: Vec<String> = self.patterns.iter().map(Pattern::to_string).collect();
        write!(f, "[{}]", patterns.join(", "))
    }
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, &'static str> {
        let text = text.trim().to_ascii_lowercase();
        if text.contains('/') {
            return Err("has a scheme or a path");
        }
        let (host, port) = split_port(&text)?;
        let host = match host {
            "*" => HostPattern::Any,
            _ if host.starts_with('[') => HostPattern::Ip(IpAddr::V6(parse_bracketed(host)?)),
            _ => match host.strip_prefix("*.") {
                Some(domain) => HostPattern::Subdomains(format!(".{}", check_name(domain)?)),
                None => host.parse().map(HostPattern::Ip).or_else(|_| check_name(host).map(|name| HostPattern::Name(name.into())))?,
            },
        };
        Ok(Pattern { host, port })
    }

    fn matches(&self, host: &Host, port: u16, default_port: bool) -> bool {
        let port_matches = match self.port {
            Some(allowed) => allowed == port,
            None => default_port,
        };
        port_matches
            && match (&self.host, host) {
                (HostPattern::Any, _) => true,
                (HostPattern::Subdomains(suffix), Host::Name(name)) => name.ends_with(suffix.as_str()),
                _ => self.host.names(host),
            }
    }
}

impl HostPattern {
    /// Whether this pattern names `host` exactly, which is what reaching a restricted
    /// address or `localhost` takes.
    fn names(&self, host: &Host) -> bool {
        match (self, host) {
            (HostPattern::Name(pattern), Host::Name(name)) => pattern == name,
            (HostPattern::Ip(pattern), Host::Ip(ip)) => pattern == ip,
            _ => false,
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            HostPattern::Any => f.write_str("*")?,
            HostPattern::Subdomains(suffix) => write!(f, "*{suffix}")?,
            HostPattern::Name(name) => f.write_str(name)?,
            HostPattern::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
            HostPattern::Ip(ip) => write!(f, "{ip}")?,
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

impl<'a> Host<'a> {
    fn of(url: &'a reqwest::Url) -> Option<Host<'a>> {
        let host = url.host_str()?;
        // The URL parser has already normalised IP literals (`0x7f.1` is `127.0.0.1`).
        Some(match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host).parse() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(host),
        })
    }
}

/// `host:port` as a pattern naming this URL's host and port would be written.
fn shown(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// Splits `host[:port]`; a bare IPv6 address (`::1`) has no port, `[::1]:8080` has one.
fn split_port(text: &str) -> Result<(&str, Option<u16>), &'static str> {
    if text.parse::<Ipv6Addr>().is_ok() || text.ends_with(']') {
        return Ok((text, None));
    }
    match text.rsplit_once(':') {
        Some((host, port)) => match port.parse::<u16>() {
            Ok(port) if port != 0 => Ok((host, Some(port))),
            _ => Err("has a port that is not a number from 1 to 65535"),
        },
        None => Ok((text, None)),
    }
}

fn parse_bracketed(host: &str) -> Result<Ipv6Addr, &'static str> {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).and_then(|h| h.parse().ok()).ok_or("is not a valid bracketed IPv6 address")
}

/// A host name: letters, digits, `-`, `_` and dots between non-empty labels.
fn check_name(name: &str) -> Result<&str, &'static str> {
    let valid_label = |label: &str| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    match name.split('.').all(valid_label) {
        true => Ok(name),
        false if name.contains('*') => Err("has a wildcard other than a leading `*.` or a lone `*`"),
        false => Err("is not a host name"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(patterns: &[&str], url: &str) -> bool {
        let list = AllowList::parse(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap();
        list.check(&reqwest::Url::parse(url).unwrap()).is_ok()
    }

    #[test]
    fn a_pattern_without_a_port_allows_the_schemes_default_port_only() {
        assert!(allows(&["api.example.com"], "http://api.example.com/"));
        assert!(allows(&["api.example.com"], "https://api.example.com:443/"));
        assert!(!allows(&["api.example.com"], "http://api.example.com:8080/"));
        assert!(!allows(&["api.example.com"], "http://api.example.com:443/"));
        assert!(allows(&["api.example.com:8080"], "http://api.example.com:8080/"));
        assert!(!allows(&["api.example.com:8080"], "http://api.example.com/"));
    }

    #[test]
    fn wildcards_follow_the_same_port_rule() {
        assert!(allows(&["*.example.com"], "https://a.b.example.com/"));
        assert!(!allows(&["*.example.com"], "https://example.com/"));
        assert!(!allows(&["*.example.com"], "https://evilexample.com/"));
        assert!(!allows(&["*.example.com"], "https://a.example.com:8443/"));
        assert!(allows(&["*"], "https://anything.test/"));
        assert!(!allows(&["*"], "https://anything.test:8443/"));
        assert!(allows(&["*:8443"], "https://anything.test:8443/"));
    }

    #[test]
    fn restricted_addresses_need_a_pattern_naming_them_with_the_port() {
        assert!(!allows(&["*"], "http://127.0.0.1/"));
        assert!(!allows(&["*", "127.0.0.1:8080"], "http://127.0.0.1/"));
        assert!(allows(&["127.0.0.1:8080"], "http://127.0.0.1:8080/"));
        assert!(allows(&["[::1]:8080"], "http://[::1]:8080/"));
        assert!(allows(&["::1"], "http://[::1]/"));
        assert!(!allows(&["*"], "http://[::ffff:10.0.0.1]/"));
        assert!(!allows(&["*", "localhost:8080"], "http://localhost/"));
        assert!(allows(&["LocalHost:8080"], "http://localhost:8080/"));
        assert!(allows(&["*"], "http://93.184.215.14/"));
    }

    #[test]
    fn only_http_and_https_are_fetched() {
        assert!(!allows(&["*"], "ftp://files.example.com/"));
    }
}
