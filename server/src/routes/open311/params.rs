//! How Open311 parameters are read: the query string and a filing's fields as GeoReport v2
//! has them ([`Params`]; a `multipart/form-data` filing's text fields, [`multipart_fields`]),
//! and the date window `start_date` and `end_date` ask for ([`window`]).

use super::write::{xml_char, Failure, Format};
use super::MAX_DAYS;
use crate::auth::now_millis;
use crate::district_time::{parse_iso, DAY};
use axum::body::Bytes;
use axum::http::StatusCode;
use gridcase_sync_core::Millis;

/// The pairs of a query string; one that does not decode is a 400 in the asked format.
pub(super) fn query_pairs(
    raw: Option<String>,
    format: Format,
) -> Result<Vec<(String, String)>, Failure> {
    serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| Failure::new(StatusCode::BAD_REQUEST, format, format!("query: {e}")))
}

/// The parameters of a request (its query string, and a filing's body), read as GeoReport v2
/// has them: an empty value is no value ("Optional Arguments"); the list-valued parameters
/// (`lists`, and a name ending in `[]`) take every value they are given, as if comma-joined;
/// any other parameter given twice with different values is refused rather than read as one
/// of them.
pub(super) struct Params(Vec<(String, String)>);

/// The list-valued parameters of `GET requests` (comma-separated, "can be declared multiple
/// times"). A filing has none: its `service_code` names one service.
pub(super) const LISTS: &[&str] = &["service_request_id", "service_code", "status"];

/// Parameters one request may give: GeoReport v2 names about fifteen, and a service's
/// attributes a few more. A bound before any work, on an endpoint anyone may call.
const MAX_PARAMS: usize = 100;

impl Params {
    pub(super) fn new(
        pairs: Vec<(String, String)>,
        lists: &[&str],
        format: Format,
    ) -> Result<Params, Failure> {
        if pairs.len() > MAX_PARAMS {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                format,
                format!("at most {MAX_PARAMS} parameters ({} given)", pairs.len()),
            ));
        }
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k, v.trim().to_owned()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let mut first: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
        for (name, value) in &pairs {
            if lists.contains(&name.as_str()) || name.ends_with("[]") {
                continue;
            }
            if first.entry(name).or_insert(value) != value {
                return Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    format,
                    format!("{name} is given more than once, with different values"),
                ));
            }
        }
        Ok(Params(pairs))
    }

    /// A single-valued parameter.
    pub(super) fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A list-valued parameter: every value given, split at commas.
    pub(super) fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The first value, if any, that XML 1.0 cannot carry (and so no answer could show).
    pub(super) fn unwritable(&self) -> Option<(&str, char)> {
        self.0
            .iter()
            .find_map(|(k, v)| v.chars().find(|c| !xml_char(*c)).map(|c| (k.as_str(), c)))
    }
}

/// The range `start_date` and `end_date` ask for, as [start, end) in milliseconds: both
/// given, the two; only `start_date`, from it to now; only `end_date`, the `default_days`
/// before it; neither, the `default_days` before now. At most [`MAX_DAYS`] long. `end_date`
/// is the latest datetime to include, and a bare date includes its whole day.
pub(super) fn window(
    params: &Params,
    format: Format,
    default_days: i64,
) -> Result<(Millis, Millis), Failure> {
    let bad = |text: String| Failure::new(StatusCode::BAD_REQUEST, format, text);
    let date = |name: &str| -> Result<Option<Millis>, Failure> {
        params
            .one(name)
            .map(|v| parse_iso(v).ok_or_else(|| bad(format!("{name} is not an ISO 8601 date"))))
            .transpose()
    };
    let now = now_millis();
    let (start, end) = match (date("start_date")?, date("end_date")?) {
        (Some(s), Some(e)) => (s, e),
        // A start in the future asks for nothing yet.
        (Some(s), None) => (s, now.max(s)),
        (None, Some(e)) => (e.saturating_sub(default_days * DAY), e),
        (None, None) => (now - default_days * DAY, now),
    };
    if end < start {
        return Err(bad("end_date is before start_date".into()));
    }
    if end - start > MAX_DAYS * DAY {
        return Err(bad(if params.one("end_date").is_some() {
            format!("start_date and end_date may be at most {MAX_DAYS} days apart")
        } else {
            format!(
                "from start_date to now is more than {MAX_DAYS} days: give an end_date at most \
                 {MAX_DAYS} days after it"
            )
        }));
    }
    let end = if params.one("end_date").is_some_and(|v| v.len() == 10) {
        end.saturating_add(DAY)
    } else {
        end.saturating_add(1)
    };
    Ok((start, end))
}

/// The text fields of a `multipart/form-data` filing. A file part is refused: GeoReport v2
/// takes a picture as a link (`media_url`), not as bytes.
pub(super) async fn multipart_fields(
    kind: &str,
    body: Bytes,
    format: Format,
) -> Result<Vec<(String, String)>, Failure> {
    let bad = |text: String| Failure::new(StatusCode::BAD_REQUEST, format, text);
    let boundary =
        multer::parse_boundary(kind).map_err(|e| bad(format!("multipart/form-data: {e}")))?;
    let body = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut parts = multer::Multipart::new(body, boundary);
    let mut fields = Vec::new();
    while let Some(part) = parts
        .next_field()
        .await
        .map_err(|e| bad(format!("multipart/form-data: {e}")))?
    {
        let name = part
            .name()
            .map(str::to_owned)
            .ok_or_else(|| bad("multipart/form-data: a part has no name".into()))?;
        let text = part.content_type().is_none_or(|m| m.type_() == "text");
        if part.file_name().is_some() || !text {
            return Err(bad(format!(
                "{name}: files are not accepted; publish the picture and give its address as \
                 media_url"
            )));
        }
        let bytes = part
            .bytes()
            .await
            .map_err(|e| bad(format!("multipart/form-data: {e}")))?;
        let value =
            String::from_utf8(bytes.to_vec()).map_err(|_| bad(format!("{name} is not UTF-8")))?;
        fields.push((name, value));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::district_time::iso;

    fn params(query: &str) -> Result<Params, Failure> {
        Params::new(
            serde_urlencoded::from_str(query).expect("a query"),
            LISTS,
            Format::Json,
        )
    }

    #[test]
    fn lists_merge_repeated_values_and_other_parameters_may_not_disagree() {
        let p = params("status=open&status=closed,&service_code=E0101&start_date=&start_date=2026-01-01&start_date=2026-01-01").expect("valid");
        assert_eq!(p.list("status"), ["open", "closed"]);
        assert_eq!(p.list("service_code"), ["E0101"]);
        assert_eq!(
            p.one("start_date"),
            Some("2026-01-01"),
            "an empty value is no value"
        );
        assert_eq!(p.one("end_date"), None);
        let e = params("start_date=2026-01-01&start_date=2026-02-01")
            .err()
            .expect("refused");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(
            e.description.contains("start_date is given more than once"),
            "{e:?}"
        );
        assert!(params("attribute[colours][]=red&attribute[colours][]=blue").is_ok());
    }

    #[test]
    fn a_start_date_alone_runs_to_now() {
        let now = now_millis();
        let day_ago = iso(now - DAY);
        let (start, end) = window(
            &params(&format!("start_date={day_ago}")).expect("valid"),
            Format::Json,
            MAX_DAYS,
        )
        .expect("a window");
        assert!(start <= now - DAY + 1000 && end > now, "{start}..{end}");
        let long_ago = iso(now - 100 * DAY);
        let e = window(
            &params(&format!("start_date={long_ago}")).expect("valid"),
            Format::Json,
            MAX_DAYS,
        )
        .expect_err("over 90 days");
        assert!(e.description.contains("give an end_date"), "{e:?}");
        let (start, end) = window(&params("").expect("valid"), Format::Json, 1).expect("a window");
        assert_eq!(end - start, DAY + 1);
    }
}
