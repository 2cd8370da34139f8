//! Where in a value something went wrong, rendered the one way every part of cogwork names
//! a place in a value: `input.items[3].at`, `input["odd key"]`.

use std::fmt;

/// One step into a value: an object's key or an array's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A path from a root value (`input`, `output`, `mocks`) to a place inside it.
///
/// Conversions build it only on failure, while the error unwinds, so [`within`] prepends:
/// the innermost segment is pushed first. Code that walks forward collects the segments
/// outermost first instead (`ValuePath::from_iter`).
///
/// [`within`]: ValuePath::within
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValuePath {
    /// Innermost first, the order in which an unwinding error meets them.
    reversed: Vec<Segment>,
}

impl ValuePath {
    /// The root itself.
    pub fn root() -> Self {
        ValuePath::default()
    }

    /// This path, seen from one level up: inside `segment` of the enclosing value.
    pub fn within(mut self, segment: Segment) -> Self {
        self.reversed.push(segment);
        self
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.reversed.iter().rev()
    }

    /// The path below a root named `root`: `input.items[3].at`. A key that is an identifier
    /// follows a dot; any other key is quoted as a JSON string: `input["odd key"]`, `input["0"]`.
    pub fn display<'a>(&'a self, root: &'a str) -> PathDisplay<'a> {
        PathDisplay { root, path: self }
    }
}

impl FromIterator<Segment> for ValuePath {
    /// A path from its segments, outermost first.
    fn from_iter<I: IntoIterator<Item = Segment>>(segments: I) -> Self {
        let mut reversed: Vec<Segment> = segments.into_iter().collect();
        reversed.reverse();
        ValuePath { reversed }
    }
}

/// A [`ValuePath`] below its root, from [`ValuePath::display`].
pub struct PathDisplay<'a> {
    root: &'a str,
    path: &'a ValuePath,
}

impl fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.root)?;
        for segment in self.path.segments() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) if is_identifier(key) => write!(f, ".{key}")?,
                Segment::Key(key) => write!(f, "[{}]", serde_json::Value::from(key.as_str()))?,
            }
        }
        Ok(())
    }
}

/// The JavaScript notion (Unicode letters, digits after the first character, `_` and `$`),
/// since a path reads like the JavaScript that would reach the value.
fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    let word = |c: char| c.is_alphabetic() || c == '_' || c == '$';
    chars.next().is_some_and(word) && chars.all(|c| word(c) || c.is_numeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(segments: Vec<Segment>) -> String {
        segments.into_iter().collect::<ValuePath>().display("input").to_string()
    }

    #[test]
    fn identifiers_follow_a_dot_and_other_keys_are_quoted() {
        let key = |k: &str| Segment::Key(k.into());
        assert_eq!(render(vec![key("items"), Segment::Index(3), key("at")]), "input.items[3].at");
        assert_eq!(render(vec![key("odd key")]), r#"input["odd key"]"#);
        assert_eq!(render(vec![key("0"), key(""), key("a\"b")]), r#"input["0"][""]["a\"b"]"#);
        assert_eq!(render(vec![key("é_1"), key("$ref"), key("données")]), "input.é_1.$ref.données");
        assert_eq!(render(vec![]), "input");
    }

    #[test]
    fn unwinding_prepends_segments() {
        let path = ValuePath::root().within(Segment::Key("at".into())).within(Segment::Index(3));
        assert_eq!(path.display("input").to_string(), "input[3].at");
    }
}
