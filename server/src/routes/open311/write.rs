//! How Open311 answers are written: a tree of values ([`V`]) in the order the specification
//! lists the fields, written as JSON or as XML (escaped for XML 1.0) in the format the path's
//! extension names, and GeoReport v2's error list ([`Failure`]).

use crate::error::Error;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The answer format, named by the path's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Json,
    Xml,
}

/// Splits `services.json` into the name and its format.
pub(super) fn split(file: &str) -> Result<(&str, Format), Failure> {
    let unknown = || {
        Failure::new(
            StatusCode::NOT_FOUND,
            Format::Json,
            format!("{file}: ask for .json or .xml"),
        )
    };
    let (name, ext) = file.rsplit_once('.').ok_or_else(unknown)?;
    let format = match ext {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return Err(unknown()),
    };
    if name.is_empty() {
        return Err(unknown());
    }
    Ok((name, format))
}

/// A value of an answer, its fields in the order the specification lists them.
pub(super) enum V {
    Null,
    Str(String),
    Num(f64),
    Int(i64),
    Bool(bool),
    Obj(Vec<(&'static str, V)>),
    /// A list; in XML each item is an element with this name.
    List(&'static str, Vec<V>),
}

pub(super) fn s(text: impl Into<String>) -> V {
    V::Str(text.into())
}

pub(super) fn opt(text: Option<String>) -> V {
    text.map_or(V::Null, V::Str)
}

impl V {
    pub(super) fn json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            V::Null => Value::Null,
            V::Str(t) => Value::String(t.clone()),
            V::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            V::Int(n) => Value::from(*n),
            V::Bool(b) => Value::Bool(*b),
            V::Obj(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.json()))
                    .collect(),
            ),
            V::List(_, items) => Value::Array(items.iter().map(V::json).collect()),
        }
    }

    pub(super) fn xml(&self, tag: &str, out: &mut String) {
        match self {
            V::Null => {
                out.push('<');
                out.push_str(tag);
                out.push_str("/>");
                return;
            }
            _ => {
                out.push('<');
                out.push_str(tag);
                out.push('>');
            }
        }
        match self {
            V::Null => {}
            V::Str(t) => escape(t, out),
            V::Num(n) => out.push_str(&n.to_string()),
            V::Int(n) => out.push_str(&n.to_string()),
            V::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            V::Obj(fields) => fields.iter().for_each(|(k, v)| v.xml(k, out)),
            V::List(item, items) => items.iter().for_each(|v| v.xml(item, out)),
        }
        out.push_str("</");
        out.push_str(tag);
        out.push('>');
    }
}

/// Whether XML 1.0 can carry a character at all (its `Char` production): not the C0 controls
/// but tab, line feed and carriage return, not U+FFFE and U+FFFF (surrogates are no `char`).
pub fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Text as XML character data. A character XML 1.0 cannot carry becomes U+FFFD: filings refuse
/// them, but a case's text may have come another way (a handheld, the console).
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // A parser would read a bare CR as a line feed.
            '\r' => out.push_str("&#13;"),
            c if xml_char(c) => out.push(c),
            _ => out.push(char::REPLACEMENT_CHARACTER),
        }
    }
}

/// An answer in the asked format; `root` names the XML document element.
pub(super) fn answer(status: StatusCode, format: Format, root: &str, value: V) -> Response {
    let (body, kind) = match format {
        Format::Json => (value.json().to_string(), "application/json; charset=utf-8"),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            value.xml(root, &mut out);
            (out, "text/xml; charset=utf-8")
        }
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    response
}

/// An error as GeoReport v2 has it: a list of (code, description).
#[derive(Debug)]
pub struct Failure {
    pub(super) status: StatusCode,
    pub(super) description: String,
    format: Format,
    /// `Retry-After` of a refusal by the throttle.
    retry_after: Option<(header::HeaderName, HeaderValue)>,
}

impl Failure {
    pub(super) fn new(
        status: StatusCode,
        format: Format,
        description: impl Into<String>,
    ) -> Failure {
        Failure {
            status,
            description: description.into(),
            format,
            retry_after: None,
        }
    }

    /// Our own errors, with their status (and `Retry-After`), in the asked format.
    pub(super) fn of(e: Error, format: Format) -> Failure {
        let (status, _) = e.status_and_code();
        Failure {
            retry_after: e.retry_after(),
            ..Failure::new(status, format, e.to_string())
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let error = V::Obj(vec![
            ("code", V::Int(i64::from(self.status.as_u16()))),
            ("description", V::Str(self.description)),
        ]);
        let mut response = answer(
            self.status,
            self.format,
            "errors",
            V::List("error", vec![error]),
        );
        if let Some((name, value)) = self.retry_after {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

pub(super) type Answer = std::result::Result<Response, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_escaped_and_nulls_are_empty_elements() {
        let v = V::List(
            "request",
            vec![V::Obj(vec![
                ("description", s("<b>\"A&B\"</b>\u{1}\u{FFFE}\u{FFFF}\r\n")),
                ("address", V::Null),
                ("lat", V::Num(39.9)),
            ])],
        );
        let mut out = String::new();
        v.xml("service_requests", &mut out);
        assert_eq!(
            out,
            "<service_requests><request><description>&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;\u{FFFD}\u{FFFD}\u{FFFD}&#13;\n</description><address/><lat>39.9</lat></request></service_requests>"
        );
        assert_eq!(
            v.json().to_string(),
            "[{\"address\":null,\"description\":\"<b>\\\"A&B\\\"</b>\\u0001\u{FFFE}\u{FFFF}\\r\\n\",\"lat\":39.9}]",
            "JSON carries every character"
        );
    }

    #[test]
    fn xml_chars_are_those_of_xml_1_0() {
        for c in [
            '\t',
            '\n',
            '\r',
            ' ',
            '\u{D7FF}',
            '\u{E000}',
            '\u{FFFD}',
            '\u{10000}',
            '\u{10FFFF}',
        ] {
            assert!(xml_char(c), "{c:?}");
        }
        for c in ['\u{0}', '\u{8}', '\u{B}', '\u{1F}', '\u{FFFE}', '\u{FFFF}'] {
            assert!(!xml_char(c), "{c:?}");
        }
    }
}
