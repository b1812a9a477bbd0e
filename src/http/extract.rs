//! Request parsing: the JSON extractor whose every rejection is an [`ApiError`], and the
//! count type that accepts `416` and `416.0` alike.

use std::fmt;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

use super::error::ApiError;
use super::AppState;

/// The largest count accepted: 2^53 − 1, the largest whole number a JSON double holds exactly.
pub const MAX_COUNT: u64 = (1 << 53) - 1;

/// A JSON body parsed into `T`, refusing with problem details: 415 when the body is not
/// declared as JSON, 413 over the body limit, 400 when it is not JSON, 422 with a pointer
/// when a field is missing, unknown or of the wrong type.
pub struct ValidJson<T>(pub T);

impl<T> FromRequest<AppState> for ValidJson<T>
where
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match read_body(request, state, false).await? {
            (BodyKind::Json, bytes) => parse_json(&bytes).map(ValidJson),
            (_, _) => Err(ApiError::UnsupportedMediaType(
                "this endpoint takes application/json only".to_owned(),
            )),
        }
    }
}

/// How a body is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Csv,
    /// `application/vnd.apache.arrow.stream` or `application/vnd.apache.parquet`.
    Columnar(super::columnar::ColumnarKind),
}

/// A body declared as JSON or (where `accept_csv`) as `text/csv`, read within the body limit.
pub async fn read_body(
    request: Request,
    state: &AppState,
    accept_csv: bool,
) -> Result<(BodyKind, Bytes), ApiError> {
    let declared = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let wanted = if accept_csv {
        "application/json, text/csv, application/vnd.apache.arrow.stream or application/vnd.apache.parquet"
    } else {
        "application/json"
    };
    let kind = match declared {
        Some(ct) if is_json(ct) => BodyKind::Json,
        Some(ct) if accept_csv && is_csv(ct) => BodyKind::Csv,
        Some(ct) if accept_csv && columnar(ct).is_some() => {
            BodyKind::Columnar(columnar(ct).expect("checked"))
        }
        Some(ct) => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "the body is declared as `{ct}`: send it as {wanted}"
            )))
        }
        None => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "the request has no Content-Type: send the body as {wanted}"
            )))
        }
    };
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: state.config.body_limit,
                }
            } else {
                ApiError::MalformedJson(format!("the body could not be read: {rejection}"))
            }
        })?;
    Ok((kind, bytes))
}

/// The column format a content type declares, if any.
fn columnar(content_type: &str) -> Option<super::columnar::ColumnarKind> {
    match essence(content_type).as_str() {
        "application/vnd.apache.arrow.stream" => Some(super::columnar::ColumnarKind::ArrowStream),
        "application/vnd.apache.parquet" => Some(super::columnar::ColumnarKind::Parquet),
        _ => None,
    }
}

/// A content type's essence (type/subtype), lower case, without parameters.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_csv(content_type: &str) -> bool {
    essence(content_type) == "text/csv"
}

/// `application/json` or any `+json` type, parameters allowed.
fn is_json(content_type: &str) -> bool {
    let essence = essence(content_type);
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON body, turning serde's errors into 400 (not JSON) or 422 with the JSON pointer
/// of the offending field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedJson(
            "the request body is empty: send a JSON object".to_owned(),
        ));
    }
    // Every request body is an object: serde would read an array as positional fields
    // (`[100,20,95]` as start, new, end), so anything else is refused first.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        if let Err(syntax) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            return Err(ApiError::MalformedJson(format!(
                "the body is not valid JSON: {syntax}"
            )));
        }
        return Err(ApiError::InvalidBody {
            pointer: String::new(),
            reason: "must be a JSON object".to_owned(),
            detail: "the body must be a JSON object with the fields documented for this endpoint"
                .to_owned(),
        });
    }
    // Fast path: a good body parses once, without tracking the path; only a refused one is
    // parsed again to name the offending field.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        // A shape error in a body that is not JSON at all (`{} {}`) is a syntax error first.
        if let Err(syntax) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            return ApiError::MalformedJson(format!("the body is not valid JSON: {syntax}"));
        }
        let pointer = to_pointer(error.path());
        shape_error(pointer, error.into_inner())
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::MalformedJson(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Deserialises an already parsed JSON value (a batch item), with the same 422 answers as
/// [`parse_json`].
pub fn parse_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    // Fast path as in `parse_json`: the path is tracked only to name a refused field.
    if let Ok(parsed) = T::deserialize(&value) {
        return Ok(parsed);
    }
    serde_path_to_error::deserialize(value)
        .map_err(|error| shape_error(to_pointer(error.path()), error.into_inner()))
}

/// 400 for a syntax error, 422 with the field's pointer for a data error.
fn shape_error(mut pointer: String, inner: serde_json::Error) -> ApiError {
    if inner.classify() != serde_json::error::Category::Data {
        return ApiError::MalformedJson(format!("the body is not valid JSON: {inner}"));
    }
    let message = truncated(&without_position(&inner.to_string()));
    pointer = truncated(&pointer);
    // serde names a missing field in the message, not in the path; an unknown one is in the
    // path too, except beside a flattened struct.
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    if let Some(field) = named {
        let token = format!("/{}", escape(field));
        if !pointer.ends_with(&token) {
            pointer.push_str(&token);
        }
    }
    let reason = if message.starts_with("unknown field") {
        "unknown field".to_owned()
    } else if message.starts_with("missing field") {
        "required".to_owned()
    } else {
        message.clone()
    };
    let at = if pointer.is_empty() {
        "the body".to_owned()
    } else {
        pointer.clone()
    };
    ApiError::InvalidBody {
        detail: format!("{at}: {message}"),
        pointer,
        reason,
    }
}

/// Client-supplied text echoed in a problem (field names, values) is cut to this many bytes.
const ECHO_LIMIT: usize = 200;

/// `text` cut at a character boundary near `ECHO_LIMIT` bytes, marked with `…`: an unknown
/// field name of a megabyte is not echoed back whole.
pub fn truncated(text: &str) -> String {
    if text.len() <= ECHO_LIMIT {
        return text.to_owned();
    }
    let mut end = ECHO_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// serde_json appends " at line L column C"; the pointer says where, so drop it.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } => pointer.push_str(&format!("/{}", escape(key))),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    pointer
}

/// RFC 6901 escaping of one reference token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A count of customers or responses: a whole number from 0 to 2^53 − 1, given as `416` or
/// `416.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CountVisitor;
        impl Visitor<'_> for CountVisitor {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a whole number from 0 to {MAX_COUNT}")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                if v > MAX_COUNT {
                    return Err(E::custom(format!(
                        "{v} is over the largest count, {MAX_COUNT}"
                    )));
                }
                Ok(Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                if v < 0 {
                    return Err(E::custom(format!("{v} is negative: counts are 0 or more")));
                }
                self.visit_u64(v as u64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Count, E> {
                if v.fract() != 0.0 || !v.is_finite() {
                    return Err(E::custom(format!("{v} is not a whole number")));
                }
                if v < 0.0 {
                    return Err(E::custom(format!("{v} is negative: counts are 0 or more")));
                }
                if v > MAX_COUNT as f64 {
                    return Err(E::custom(format!(
                        "{v} is over the largest count, {MAX_COUNT}"
                    )));
                }
                Ok(Count(v as u64))
            }
        }
        deserializer.deserialize_any(CountVisitor)
    }
}

impl utoipa::PartialSchema for Count {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0))
            .maximum(Some(MAX_COUNT as f64))
            .description(Some("A whole number of customers or responses, 0 or more."))
            .into()
    }
}

impl utoipa::ToSchema for Count {}

/// Notes for percents that look like fractions: each `(field, value, unit)` with 0 < value < 1
/// gets "gross_margin_pct 0.75 read as 0.75 %; did you mean 75 %?". The value is used as
/// sent (0.75 % is a valid margin); the note is there so that a caller who sent a fraction
/// sees it in the answer's `context.notes`.
pub fn fraction_notes(fields: &[(&str, Option<f64>, &str)]) -> Vec<String> {
    fields
        .iter()
        .filter_map(|(field, value, unit)| {
            let v = (*value)?;
            (v > 0.0 && v < 1.0).then(|| {
                format!(
                    "{field} {v} read as {v} {unit}; did you mean {} {unit}?",
                    // 0.07 × 100 is 7.000000000000001 in binary: shown as 7.
                    (v * 100.0 * 1e9).round() / 1e9
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        start: Count,
        list: Option<Vec<Count>>,
    }

    fn pointer_of(json: &str) -> String {
        match parse_json::<Body>(json.as_bytes()) {
            Err(ApiError::InvalidBody { pointer, .. }) => pointer,
            other => panic!("expected InvalidBody, got {other:?}"),
        }
    }

    #[test]
    fn shape_errors_name_their_field() {
        assert_eq!(pointer_of(r#"{}"#), "/start");
        assert_eq!(pointer_of(r#"{"start":1,"typo":2}"#), "/typo");
        assert_eq!(pointer_of(r#"{"start":"a"}"#), "/start");
        assert_eq!(pointer_of(r#"{"start":1,"list":[1,-2]}"#), "/list/1");
        assert_eq!(pointer_of(r#"{"start":1.5}"#), "/start");
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        // An array would otherwise fill the fields by position.
        for body in [&b"[1, 2]"[..], b" 42", b"\"text\"", b"null"] {
            match parse_json::<Body>(body) {
                Err(ApiError::InvalidBody {
                    pointer, reason, ..
                }) => {
                    assert_eq!(pointer, "");
                    assert_eq!(reason, "must be a JSON object");
                }
                other => panic!("{body:?}: {other:?}"),
            }
        }
        assert!(matches!(
            parse_json::<Body>(b"[1, 2"),
            Err(ApiError::MalformedJson(_))
        ));
    }

    #[test]
    fn a_huge_unknown_field_name_is_not_echoed_whole() {
        let name = "x".repeat(1_000_000);
        let body = format!(r#"{{"start":1,"{name}":2}}"#);
        match parse_json::<Body>(body.as_bytes()) {
            Err(error @ ApiError::InvalidBody { .. }) => {
                let problem = error.problem();
                let size = serde_json::to_vec(&problem).unwrap().len();
                assert!(size < 2_000, "{size} bytes");
                assert!(problem.errors[0].pointer.starts_with("/xxx"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn whole_floats_are_counts_and_bad_json_is_400() {
        let body: Body = parse_json(br#"{"start":416.0}"#).unwrap();
        assert_eq!(body.start, Count(416));
        assert!(matches!(
            parse_json::<Body>(br#"{"start":1"#),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_json::<Body>(br#"{"start":1} x"#),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_json::<Body>(b""),
            Err(ApiError::MalformedJson(_))
        ));
    }
}
