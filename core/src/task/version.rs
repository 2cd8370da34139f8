//! Task versions are semantic versions (<https://semver.org>), ordered by semver precedence
//! (§11) so that a bare label resolves to the newest release: `1.0.0` ahead of
//! `1.0.0-beta`, `1.10.0` ahead of `1.9.0`. Build metadata (`+build.5`) is checked and then
//! dropped: it plays no part in precedence.

use std::cmp::Ordering;

/// A parsed version, holding only what precedence depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    release: [Number; 3],
    pre_release: Vec<Identifier>,
}

/// A numeric part without leading zeros, of any length: ordering by length, then by digits,
/// is numeric ordering without an overflow to report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Number {
    len: usize,
    digits: String,
}

/// A pre-release identifier. The variant order is the precedence: numeric identifiers sort
/// before alphanumeric ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Identifier {
    Numeric(Number),
    Alphanumeric(String),
}

impl Version {
    /// Parses `MAJOR.MINOR.PATCH[-PRE.RELEASE][+BUILD]`; the error says which part is wrong.
    pub fn parse(text: &str) -> Result<Version, String> {
        let (rest, build) = text.split_once('+').map_or((text, None), |(rest, build)| (rest, Some(build)));
        let (release, pre_release) = rest.split_once('-').map_or((rest, None), |(release, pre)| (release, Some(pre)));
        let release: Vec<Number> = release.split('.').map(number).collect::<Result<_, _>>()?;
        let release: [Number; 3] = release.try_into().map_err(|_| "needs exactly three release numbers, MAJOR.MINOR.PATCH".to_string())?;
        let pre_release = match pre_release {
            Some(pre) => pre.split('.').map(identifier).collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        if let Some(build) = build {
            build.split('.').try_for_each(|part| alphanumeric(part, "build metadata"))?;
        }
        Ok(Version { release, pre_release })
    }
}

fn number(part: &str) -> Result<Number, String> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{part}` is not a release number (digits only)"));
    }
    if part.len() > 1 && part.starts_with('0') {
        return Err(format!("`{part}` has a leading zero"));
    }
    Ok(Number { len: part.len(), digits: part.to_string() })
}

fn identifier(part: &str) -> Result<Identifier, String> {
    alphanumeric(part, "pre-release")?;
    match part.bytes().all(|b| b.is_ascii_digit()) {
        true => number(part).map(Identifier::Numeric),
        false => Ok(Identifier::Alphanumeric(part.to_string())),
    }
}

fn alphanumeric(part: &str, what: &str) -> Result<(), String> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!("{what} identifier `{part}` must be non-empty ASCII letters, digits or `-`"));
    }
    Ok(())
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.release.cmp(&other.release).then_with(|| match (self.pre_release.is_empty(), other.pre_release.is_empty()) {
            // A release ranks above every pre-release of it.
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            // Identifier by identifier; when all shared ones are equal the longer list wins.
            (false, false) => self.pre_release.cmp(&other.pre_release),
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::Version;

    fn parse(text: &str) -> Version {
        Version::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn precedence_follows_the_semver_specification_example() {
        let ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1", "10.0.0"];
        for pair in ordered.windows(2) {
            assert!(parse(pair[0]) < parse(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn build_metadata_is_ignored_and_numbers_of_any_length_compare_numerically() {
        assert_eq!(parse("1.0.0+build.5"), parse("1.0.0+other"));
        assert!(parse("1.0.99999999999999999999999") > parse("1.0.18446744073709551615"));
        assert!(parse("1.0.0-rc.100000000000000000000") > parse("1.0.0-rc.99"));
    }

    #[test]
    fn text_that_is_not_a_semantic_version_is_refused() {
        for bad in ["1", "1.0", "1.0.0.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0-beta..1", "1.0.0-01", "1.0.0+", "1.0.0+a+b", "1.0.0-be_ta", " 1.0.0"] {
            assert!(Version::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
