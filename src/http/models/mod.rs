//! `POST /models/bgnbd`, `/models/pareto-nbd`, `/models/gamma-gamma`, `/models/clv` and
//! `/models/sbg`: likelihood models fitted on the caller's data, off the async runtime. Each
//! file holds an endpoint's request type, its conversion into the core's inputs, its handler
//! and its examples; the fits and answers are `retention_core::models`.

pub mod backtest;
pub mod clv;
pub mod input;
pub mod purchase;
pub mod sbg;
pub mod spend;

use super::charts::Format;
use super::error::ApiError;
use super::{AppState, Compute, FiniteJson};

/// A request whose answer can also be drawn ([`super::charts`]).
pub trait Chart: Compute {
    /// The answer as an SVG chart.
    fn chart(self, state: &AppState) -> Result<String, ApiError>;
}

/// A model request: a JSON body, or its rows as a column batch (an Arrow IPC stream or a
/// Parquet file) with the other fields in the query string (`calibration_end=1997-09-30`,
/// dotted for nested fields: `predict.horizon=39`, `parameters.r=0.24`). The rows are the
/// `customers` when a column is named `frequency`, else the `transactions`; `id` and
/// `customer_id` cells are read as text. Decoded in the CPU-work pool, then read exactly as
/// the same JSON body.
pub enum ModelBody<T> {
    Json(T),
    Rows(super::records::RowsBody, Option<String>),
}

impl<T: serde::de::DeserializeOwned + Send> axum::extract::FromRequest<AppState> for ModelBody<T> {
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        use super::extract::{parse_json, read_body, BodyKind};
        let query = request
            .uri()
            .query()
            .and_then(super::charts::without_format);
        match read_body(request, state, true).await? {
            (BodyKind::Json, _) if query.is_some() => Err(ApiError::InvalidBody {
                pointer: String::new(),
                reason: "query parameters are for column-batch bodies".to_owned(),
                detail: "query parameters set the fields of an Arrow or Parquet body; with a JSON body, put them in the body".to_owned(),
            }),
            (BodyKind::Json, bytes) => parse_json(&bytes).map(ModelBody::Json),
            (BodyKind::Csv, _) => Err(ApiError::UnsupportedMediaType(
                "the model endpoints take application/json, application/vnd.apache.arrow.stream or application/vnd.apache.parquet".to_owned(),
            )),
            (kind, bytes) => Ok(ModelBody::Rows(
                super::records::RowsBody::new(kind, bytes),
                query,
            )),
        }
    }
}

impl<T: serde::de::DeserializeOwned> ModelBody<T> {
    /// The request: as sent, or the column batch's rows with the query's fields.
    pub fn request(self, state: &AppState) -> Result<T, ApiError> {
        let (body, query) = match self {
            ModelBody::Json(request) => return Ok(request),
            ModelBody::Rows(body, query) => (body, query),
        };
        let super::records::Rows::Columnar(batch) = body.read(state)? else {
            return Err(ApiError::UnsupportedMediaType(
                "the model endpoints take application/json, application/vnd.apache.arrow.stream or application/vnd.apache.parquet".to_owned(),
            ));
        };
        let header = batch.header();
        let field = if header.contains(&"frequency") {
            "customers"
        } else if header.contains(&"date") {
            "transactions"
        } else {
            return Err(ApiError::InvalidBody {
                pointer: String::new(),
                reason: "customers or transactions".to_owned(),
                detail: format!("the column batch ({}) is neither customers (frequency, recency, T, …) nor transactions (customer_id, date, amount)", header.join(",")),
            });
        };
        let mut fields = query_fields(query.as_deref().unwrap_or(""))?;
        if fields.contains_key(field) {
            return Err(ApiError::InvalidBody {
                pointer: format!("/{field}"),
                reason: "given by the body".to_owned(),
                detail: format!("{field} are the body's rows: leave them out of the query"),
            });
        }
        fields.insert(
            field.to_owned(),
            serde_json::Value::Array(batch.json_rows()?),
        );
        super::extract::parse_value(serde_json::Value::Object(fields))
    }
}

/// Query parameters as JSON fields: `a.b=1` is `{"a": {"b": 1}}`; a value that reads as a JSON
/// number or true/false is one, any other a string.
fn query_fields(query: &str) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|e| ApiError::InvalidBody {
            pointer: String::new(),
            reason: e.to_string(),
            detail: format!("query parameters: {e}"),
        })?;
    let mut root = serde_json::Map::new();
    for (key, text) in pairs {
        let value = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => v,
            _ => serde_json::Value::String(text),
        };
        let path: Vec<&str> = key.split('.').collect();
        let mut object = &mut root;
        for (depth, part) in path.iter().enumerate() {
            let clash = || ApiError::InvalidBody {
                pointer: format!("/{}", path[..=depth].join("/")),
                reason: "one value".to_owned(),
                detail: format!(
                    "the query gives {key} and another value at {}",
                    path[..=depth].join(".")
                ),
            };
            if part.is_empty() {
                return Err(clash());
            }
            if depth + 1 == path.len() {
                if object.contains_key(*part) {
                    return Err(clash());
                }
                object.insert((*part).to_owned(), value.clone());
            } else {
                let next = object
                    .entry((*part).to_owned())
                    .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
                object = next.as_object_mut().ok_or_else(clash)?;
            }
        }
    }
    Ok(root)
}

/// Runs a model request through the shared CPU-work path ([`super::work`]), serialising its
/// answer there too (a large answer is CPU work the runtime should not do).
async fn off_runtime<T>(
    state: AppState,
    model: &'static str,
    request: ModelBody<T>,
) -> Result<FiniteJson, ApiError>
where
    T: Compute + Send + 'static,
    T::Output: Send + 'static,
{
    super::work::off_runtime(state, model, move |state| {
        let request = request.request(state)?;
        let started = std::time::Instant::now();
        let answer = request.compute(state);
        super::ops::record_fit(model, started.elapsed().as_secs_f64());
        answer.and_then(super::finite_json)
    })
    .await
}

/// [`off_runtime`] for a request that can also be answered as a chart.
async fn off_runtime_as<T>(
    state: AppState,
    model: &'static str,
    request: ModelBody<T>,
    format: Format,
) -> Result<FiniteJson, ApiError>
where
    T: Chart + Send + 'static,
    T::Output: Send + 'static,
{
    match format {
        Format::Json => off_runtime(state, model, request).await,
        Format::Svg => {
            super::work::off_runtime(state, model, move |state| {
                let request = request.request(state)?;
                let started = std::time::Instant::now();
                let chart = request.chart(state);
                super::ops::record_fit(model, started.elapsed().as_secs_f64());
                chart.map(FiniteJson::svg)
            })
            .await
        }
    }
}
