//! What `POST /retention`, `POST /lifecycle` and `POST /stickiness` share: product events as
//! JSON or as rows (CSV, Arrow, Parquet: `customer_id,timestamp[,event],<attributes…>`), the
//! time zone, `filter` and `group_by`, and their query-string forms.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{query, text_table, within_max_events, CustomerId, Records, Rows, TextRows};
use crate::analytics::events::{
    instant, parse_instant, AttributeColumns, EventColumns, EventLog, FilterOp, FilterRule,
    Segments, Zone,
};
use crate::analytics::series::Interner;
use crate::http::error::ApiError;
use crate::http::extract::parse_json;
use crate::http::{AppState, Compute, FiniteJson};
use crate::kpi::InvalidInput;
use crate::units::Period;

/// One product event.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductEventRow {
    #[schema(value_type = String, example = "ann")]
    pub customer_id: CustomerId,
    /// An instant: RFC 3339 (`2024-03-10T07:15:00Z`, `2024-03-10T16:15:00+09:00`), or without
    /// an offset (read as UTC).
    #[schema(example = "2024-03-10T07:15:00Z")]
    pub timestamp: String,
    /// The event's name (`signup`, `login`); absent: unnamed (it counts only as "any event").
    #[schema(example = "login")]
    pub event: Option<String>,
    /// Text attributes (`plan`, `country`) for `filter` and `group_by`; numbers and booleans
    /// are read as their text, null as absent.
    #[schema(value_type = Option<Object>, example = json!({"plan": "pro", "country": "JP"}))]
    pub attributes: Option<BTreeMap<String, AttributeValue>>,
}

/// An attribute's value as text (null: absent).
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeValue(pub Option<String>);

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AttributeValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("text, a number, true/false or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AttributeValue, E> {
                Ok(AttributeValue(Some(v.to_owned())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AttributeValue, E> {
                Ok(AttributeValue(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AttributeValue, E> {
                Ok(AttributeValue(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<AttributeValue, E> {
                Ok(AttributeValue(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<AttributeValue, E> {
                Ok(AttributeValue(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<AttributeValue, E> {
                Ok(AttributeValue(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<AttributeValue, E> {
                Ok(AttributeValue(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The `events` of a JSON body, read straight into columns ([`EventColumns`]): each event as
/// [`ProductEventRow`] documents it, with no string kept per event (a million events repeat a
/// hundred thousand ids, a few names and a few attribute values).
#[derive(Debug, Default)]
pub struct EventsBody(pub EventColumns);

impl<'de> Deserialize<'de> for EventsBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Events;
        impl<'de> Visitor<'de> for Events {
            type Value = EventsBody;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of events")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventsBody, A::Error> {
                let mut columns = EventColumns::default();
                while seq.next_element_seed(EventSeed(&mut columns))?.is_some() {}
                Ok(EventsBody(columns))
            }
        }
        deserializer.deserialize_seq(Events)
    }
}

/// The fields of one event.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum EventField {
    CustomerId,
    Timestamp,
    Event,
    Attributes,
}

const EVENT_FIELDS: &[&str] = &["customer_id", "timestamp", "event", "attributes"];

/// Reads one event into the columns.
struct EventSeed<'c>(&'c mut EventColumns);

impl<'de> DeserializeSeed<'de> for EventSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_struct("ProductEventRow", EVENT_FIELDS, self)
    }
}

impl<'de> Visitor<'de> for EventSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event {customer_id, timestamp, event, attributes}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let columns = self.0;
        let row = columns.len();
        let (mut customer, mut at, mut name, mut attributes) = (None, None, None, false);
        while let Some(field) = map.next_key::<EventField>()? {
            match field {
                EventField::CustomerId if customer.is_some() => {
                    return Err(de::Error::duplicate_field("customer_id"))
                }
                EventField::CustomerId => {
                    customer = Some(map.next_value_seed(IdSeed(&mut columns.ids))? as u32)
                }
                EventField::Timestamp if at.is_some() => {
                    return Err(de::Error::duplicate_field("timestamp"))
                }
                EventField::Timestamp => at = Some(map.next_value::<Stamp>()?.0),
                EventField::Event if name.is_some() => {
                    return Err(de::Error::duplicate_field("event"))
                }
                EventField::Event => name = Some(map.next_value_seed(NameSeed(columns))?),
                EventField::Attributes if attributes => {
                    return Err(de::Error::duplicate_field("attributes"))
                }
                EventField::Attributes => {
                    attributes = true;
                    map.next_value_seed(AttributesSeed {
                        columns: &mut columns.attributes,
                        row,
                    })?;
                }
            }
        }
        let customer = customer.ok_or_else(|| de::Error::missing_field("customer_id"))?;
        let at = at.ok_or_else(|| de::Error::missing_field("timestamp"))?;
        let name = match name {
            Some(name) => name,
            None => columns.name_code(""),
        };
        columns.push(customer, at.as_ref().copied().map_err(String::as_str), name);
        Ok(())
    }
}

/// A customer id (text or a whole number, as [`CustomerId`]) as its index.
pub(super) struct IdSeed<'c>(pub &'c mut Interner);

impl<'de> DeserializeSeed<'de> for IdSeed<'_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Visitor<'_> for IdSeed<'_> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a customer id (string or whole number)")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        Ok(self.0.index_of(v, false))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<usize, E> {
        Ok(self.0.index_of(&v.to_string(), true))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<usize, E> {
        Ok(self.0.index_of(&v.to_string(), true))
    }
}

/// A timestamp read as an instant, or its text when it is none (refused later, naming it).
struct Stamp(Result<i64, String>);

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Stamp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Stamp, E> {
                Ok(Stamp(instant(v).ok_or_else(|| v.to_owned())))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// An event name (null: unnamed) as its code.
struct NameSeed<'c>(&'c mut EventColumns);

impl<'de> DeserializeSeed<'de> for NameSeed<'_> {
    type Value = u32;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<u32, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for NameSeed<'_> {
    type Value = u32;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_none<E: de::Error>(self) -> Result<u32, E> {
        Ok(self.0.name_code(""))
    }
    fn visit_unit<E: de::Error>(self) -> Result<u32, E> {
        Ok(self.0.name_code(""))
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<u32, D::Error> {
        deserializer.deserialize_str(self)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<u32, E> {
        Ok(self.0.name_code(v))
    }
}

/// An event's attributes (null: none) into row `row` of the attribute columns.
pub(super) struct AttributesSeed<'c> {
    pub columns: &'c mut AttributeColumns,
    pub row: usize,
}

impl<'de> DeserializeSeed<'de> for AttributesSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for AttributesSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(column) = map.next_key_seed(AttributeName(&mut *self.columns))? {
            map.next_value_seed(AttributeText {
                columns: &mut *self.columns,
                column,
                row: self.row,
            })?;
        }
        Ok(())
    }
}

/// An attribute's name as its column.
struct AttributeName<'c>(&'c mut AttributeColumns);

impl<'de> DeserializeSeed<'de> for AttributeName<'_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for AttributeName<'_> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an attribute name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        Ok(self.0.column(v))
    }
}

/// An attribute's value as text (numbers and booleans as their text; null: absent), as
/// [`AttributeValue`] reads it.
struct AttributeText<'c> {
    columns: &'c mut AttributeColumns,
    column: usize,
    row: usize,
}

impl<'de> DeserializeSeed<'de> for AttributeText<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl AttributeText<'_> {
    fn set(self, v: &str) {
        self.columns.set(self.column, self.row, v);
    }
}

impl Visitor<'_> for AttributeText<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("text, a number, true/false or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.set(v);
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.set(&v.to_string());
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.set(&v.to_string());
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.set(&v.to_string());
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.set(&v.to_string());
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The settings every product-event endpoint takes: the zone, the filter, the segments.
#[derive(Debug, Default)]
pub struct Segmentation {
    pub timezone: Option<String>,
    pub filter: Option<Vec<FilterRule>>,
    pub group_by: Option<Vec<String>>,
}

impl Segmentation {
    /// The query-string forms: `timezone=Asia/Tokyo`, `group_by=plan,country`,
    /// `filter=country:in:JP|US,plan:not_in:free`.
    pub fn from_query(
        timezone: Option<String>,
        filter: Option<String>,
        group_by: Option<String>,
    ) -> Result<Self, InvalidInput> {
        let filter = filter
            .map(|f| {
                f.split(',')
                    .enumerate()
                    .map(|(i, rule)| {
                        let mut parts = rule.splitn(3, ':');
                        let (a, op, values) = (parts.next(), parts.next(), parts.next());
                        let op = match op {
                            Some("in") => Some(FilterOp::In),
                            Some("not_in") => Some(FilterOp::NotIn),
                            _ => None,
                        };
                        match (a, op, values) {
                            (Some(a), Some(op), Some(v)) if !a.is_empty() => Ok(FilterRule {
                                attribute: a.to_owned(),
                                op,
                                values: v.split('|').map(str::to_owned).collect(),
                            }),
                            _ => Err(InvalidInput::new(
                                format!("/filter/{i}"),
                                "attribute:in:value|value or attribute:not_in:value|value",
                                format!("filter rule {rule:?} is not attribute:in:values or attribute:not_in:values (country:in:JP|US)"),
                            )),
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(Self {
            timezone,
            filter,
            group_by: group_by.map(|g| g.split(',').map(str::to_owned).collect()),
        })
    }

    /// Whether the filter or the segments read attributes.
    pub fn reads_attributes(&self) -> bool {
        self.filter.as_ref().is_some_and(|f| !f.is_empty())
            || self.group_by.as_ref().is_some_and(|g| !g.is_empty())
    }

    /// The event log of `events`: the filter applied, segments assigned, local days.
    pub fn log(
        self,
        events: EventColumns,
        state: &AppState,
    ) -> Result<(EventLog, usize), ApiError> {
        within_max_events(events.len(), "events", state.config.max_events)?;
        let zone = match &self.timezone {
            Some(name) => Zone::new("/timezone", name)?,
            None => Zone::default(),
        };
        if let Some((i, text)) = &events.bad_timestamp {
            parse_instant(&format!("/events/{i}/timestamp"), text)?;
        }
        let log = EventLog::build(
            &events,
            zone,
            self.filter.as_deref().unwrap_or_default(),
            self.group_by.as_deref().unwrap_or_default(),
        )?;
        Ok((log, events.len()))
    }
}

/// Rows (CSV, Arrow, Parquet) whose columns are `known` plus attributes: per row the text of
/// each known column (in `known`'s order; empty when the body lacks the column) and its
/// attributes (every other column; an empty cell is an absent attribute). `required` known
/// columns must be in the header.
#[allow(clippy::type_complexity)]
pub fn attribute_rows(
    rows: &Rows,
    collection: &str,
    known: &[&str],
    required: &[&str],
) -> Result<Vec<(Vec<String>, Vec<(String, String)>)>, ApiError> {
    let (headers, records) = text_table(rows, collection)?;
    let (places, attributes) = header_places(&headers, collection, known, required)?;
    records
        .into_iter()
        .map(|record| {
            let mut cells = record?;
            let known = places
                .iter()
                .map(|p| p.map(|k| std::mem::take(&mut cells[k])).unwrap_or_default())
                .collect();
            let attributes = attributes
                .iter()
                .map(|&(k, name)| (name.clone(), std::mem::take(&mut cells[k])))
                .filter(|(_, value)| !value.is_empty())
                .collect();
            Ok((known, attributes))
        })
        .collect()
}

/// Where each `known` column is in `headers` (`None`: absent), and the other columns (the
/// attributes); refuses a header without a `required` column or with a column named twice.
#[allow(clippy::type_complexity)]
fn header_places<'h>(
    headers: &'h [String],
    collection: &str,
    known: &[&str],
    required: &[&str],
) -> Result<(Vec<Option<usize>>, Vec<(usize, &'h String)>), ApiError> {
    if let Some(missing) = required.iter().find(|r| !headers.iter().any(|h| h == *r)) {
        return Err(InvalidInput::new(
            format!("/{collection}"),
            format!("columns {}[,…],<attributes…>", required.join(",")),
            format!("the header ({}) has no column {missing}: give {} and any attribute columns; send a CSV file with curl --data-binary @file", headers.join(","), known.join(",")),
        )
        .into());
    }
    if let Some((k, h)) = headers
        .iter()
        .enumerate()
        .find(|(k, h)| headers[..*k].contains(h))
    {
        return Err(InvalidInput::new(
            format!("/{collection}/0/{h}"),
            "distinct columns",
            format!(
                "the header names {h:?} twice (column {}): name each column once",
                k + 1
            ),
        )
        .into());
    }
    let places: Vec<Option<usize>> = known
        .iter()
        .map(|name| headers.iter().position(|h| h == name))
        .collect();
    let attributes: Vec<(usize, &String)> = headers
        .iter()
        .enumerate()
        .filter(|(k, _)| !places.contains(&Some(*k)))
        .collect();
    Ok((places, attributes))
}

/// Attributes as the JSON rows carry them: text, null cells left out.
pub fn attribute_pairs(
    attributes: Option<BTreeMap<String, AttributeValue>>,
) -> Vec<(String, String)> {
    attributes
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| v.0.map(|v| (k, v)))
        .collect()
}

/// Text attributes back into the JSON rows' form.
pub fn attribute_map(pairs: Vec<(String, String)>) -> Option<BTreeMap<String, AttributeValue>> {
    Some(
        pairs
            .into_iter()
            .map(|(k, v)| (k, AttributeValue(Some(v))))
            .collect(),
    )
}

/// Rows (CSV, Arrow, Parquet) as events, read row by row into columns: `customer_id` and
/// `timestamp` required, `event` optional, every other column an attribute (an empty cell:
/// absent), read only when `attributes` is true (the filter or the segments need them).
pub fn event_columns(rows: &Rows, attributes: bool) -> Result<EventColumns, ApiError> {
    let mut text = TextRows::open(rows, "events")?;
    let headers = std::mem::take(&mut text.headers);
    let (places, extra) = header_places(
        &headers,
        "events",
        &["customer_id", "timestamp", "event"],
        &["customer_id", "timestamp"],
    )?;
    let mut columns = EventColumns::default();
    let extra: Vec<(usize, usize)> = if attributes {
        extra
            .iter()
            .map(|&(k, name)| (k, columns.attributes.column(name)))
            .collect()
    } else {
        Vec::new()
    };
    let mut record = csv::StringRecord::new();
    while text.next_into(&mut record)? {
        let row = columns.len();
        let get = |place: Option<usize>| place.and_then(|k| record.get(k)).unwrap_or_default();
        for &(k, column) in &extra {
            match record.get(k) {
                Some(value) if !value.is_empty() => columns.attributes.set(column, row, value),
                _ => {}
            }
        }
        columns.push_text(get(places[0]), get(places[1]), get(places[2]));
    }
    Ok(columns)
}

/// Answers a product-event endpoint in the CPU-work pool: a JSON body read as `T`, or rows
/// that `from_rows` turns into one with the query string's settings.
pub async fn answer<T: Compute + Send + 'static>(
    state: AppState,
    records: Records,
    label: &'static str,
    from_rows: fn(&Rows, Option<String>) -> Result<T, ApiError>,
) -> Result<FiniteJson, ApiError> {
    crate::http::work::off_runtime(state, label, move |state| {
        let request = match records {
            Records::Json(bytes) => parse_json::<T>(&bytes)?,
            Records::Rows(body, q) => from_rows(&body.read(state)?, q)?,
        };
        request.compute(state).and_then(crate::http::finite_json)
    })
    .await
}

/// The query string of `/lifecycle` and `/stickiness` with a body of rows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodParams {
    period: Option<Period>,
    timezone: Option<String>,
    filter: Option<String>,
    group_by: Option<String>,
}

/// Rows and the query string of `/lifecycle` or `/stickiness`: the events, the period and
/// the segmentation.
pub fn period_events(
    rows: &Rows,
    q: Option<String>,
) -> Result<(EventsBody, Option<Period>, Segmentation), ApiError> {
    let p: PeriodParams = query(q)?;
    let segmentation = Segmentation::from_query(p.timezone, p.filter, p.group_by)?;
    let events = event_columns(rows, segmentation.reads_attributes())?;
    Ok((EventsBody(events), p.period, segmentation))
}

/// Refuses `filter` or `group_by` with a summary (`summary`: its field), which has no
/// attributes to read.
pub fn no_segments_with_summary(
    filter: bool,
    group_by: bool,
    summary: &str,
) -> Result<(), InvalidInput> {
    match [("filter", filter), ("group_by", group_by)]
        .iter()
        .find(|(_, given)| *given)
    {
        Some((field, _)) => Err(InvalidInput::new(
            format!("/{field}"),
            "only with rows",
            format!("{field} reads the rows' attributes; a {summary} has none: summarise each segment apart, or send the rows"),
        )),
        None => Ok(()),
    }
}

/// Takes each row's attributes (`take`) and splits the rows by `filter` and `group_by`.
pub fn split_rows<T>(
    mut rows: Vec<T>,
    take: impl Fn(&mut T) -> Option<BTreeMap<String, AttributeValue>>,
    filter: Option<&[FilterRule]>,
    group_by: Option<&[String]>,
    collection: &str,
) -> Result<(Vec<T>, Segments), InvalidInput> {
    let wanted = filter.is_some_and(|f| !f.is_empty()) || group_by.is_some_and(|g| !g.is_empty());
    let attributes: Vec<Vec<(String, String)>> = rows
        .iter_mut()
        .map(|r| match take(r) {
            Some(a) if wanted => attribute_pairs(Some(a)),
            _ => Vec::new(),
        })
        .collect();
    let segments = Segments::assign(
        rows.len(),
        &AttributeColumns::from_pairs(rows.len(), |i| &attributes[i]),
        filter.unwrap_or_default(),
        group_by.unwrap_or_default(),
        collection,
    )?;
    Ok((rows, segments))
}
