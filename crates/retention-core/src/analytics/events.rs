//! Product events (`customer, timestamp, event, attributes`) read for `/retention`,
//! `/lifecycle` and `/stickiness`: instants, local days in an IANA time zone, the `filter`
//! that keeps events and the `group_by` segments that split them (docs/formulas.md § 20.1).
//!
//! A segment's block is its endpoint's answer on the segment's events alone, as if the
//! others did not exist; only the horizon (the last period, the range of days) comes from
//! all the kept events, so that every block has the same rows.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeZone};
use serde::{Deserialize, Serialize};

use crate::kpi::InvalidInput;
use crate::units::Period;

/// Microseconds in a day.
pub const DAY_US: i64 = 86_400_000_000;
/// The most segments one `group_by` may give.
pub const MAX_SEGMENTS: usize = 50;

/// Parses an instant: RFC 3339 (`2024-03-10T07:15:00Z`, `…+09:00`, a space for the `T`,
/// fractions to the microsecond, finer digits dropped); the same without an offset, read as
/// UTC; or a date `YYYY-MM-DD`, read as 00:00 UTC. Answers microseconds since 1970-01-01 UTC.
pub fn parse_instant(pointer: &str, text: &str) -> Result<i64, InvalidInput> {
    parse_instant_with(|| pointer.to_owned(), text)
}

/// [`parse_instant`] with the pointer built only when the text is refused; the common form
/// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` read without a parser (the hot path of a million rows).
pub fn parse_instant_with(
    pointer: impl FnOnce() -> String,
    text: &str,
) -> Result<i64, InvalidInput> {
    if let Some(at) = quick_instant(text.as_bytes()) {
        return Ok(at);
    }
    let pointer = pointer();
    let pointer = pointer.as_str();
    let t = text.trim();
    let parsed = if t.len() == 10 {
        super::periods::parse_day(pointer, t)
            .ok()
            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
    } else if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        Some(at.to_utc())
    } else {
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
            .map(|n| n.and_utc())
    };
    parsed.map(|at| at.timestamp_micros()).ok_or_else(|| {
        InvalidInput::new(
            pointer,
            "an instant: RFC 3339 (2024-03-10T07:15:00Z), or without offset (UTC)",
            format!("{pointer}: {t:?} is not an instant such as 2024-03-10T07:15:00Z, 2024-03-10T16:15:00+09:00 or 2024-03-10 07:15:00 (UTC)"),
        )
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.f…]Z` (a `T` or a space) as microseconds, or `None` for any other
/// form (left to chrono); fraction digits past the sixth are dropped, as chrono drops them.
fn quick_instant(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[b.len() - 1] != b'Z' || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    if !(b[10] == b'T' || b[10] == b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let micros = match b.len() {
        20 => 0,
        n if b[19] == b'.' && n > 21 => {
            let fraction = &b[20..n - 1];
            if !fraction.iter().all(u8::is_ascii_digit) {
                return None;
            }
            fraction
                .iter()
                .chain(std::iter::repeat(&b'0'))
                .take(6)
                .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'))
        }
        _ => return None,
    };
    let day = NaiveDate::from_ymd_opt(y as i32, mo, d)?;
    let days = (day - NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days();
    Some(
        (days * 86_400 + i64::from(h) * 3_600 + i64::from(mi) * 60 + i64::from(s)) * 1_000_000
            + micros,
    )
}

/// An IANA time zone: where calendar days begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(chrono_tz::Tz);

impl Default for Zone {
    fn default() -> Self {
        Self(chrono_tz::UTC)
    }
}

impl Zone {
    /// The zone of an IANA name (`Asia/Tokyo`, `UTC`); `field` names it in the refusal.
    pub fn new(field: &str, name: &str) -> Result<Self, InvalidInput> {
        name.parse::<chrono_tz::Tz>().map(Self).map_err(|_| {
            InvalidInput::new(
                field,
                "an IANA time zone name",
                format!("{field}: {name:?} is not an IANA time zone name such as UTC, Asia/Tokyo or America/New_York (names are case-sensitive)"),
            )
        })
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The local day of an instant (microseconds since the epoch) as days since 1970-01-01:
    /// the calendar date the zone's clocks show at that instant.
    pub fn local_day(self, at: i64) -> i64 {
        let seconds = at.div_euclid(1_000_000);
        let offset = if self.0 == chrono_tz::UTC {
            0
        } else {
            DateTime::from_timestamp(seconds, 0)
                .map(|utc| {
                    self.0
                        .offset_from_utc_datetime(&utc.naive_utc())
                        .fix()
                        .local_minus_utc()
                })
                .unwrap_or(0)
        };
        (seconds + i64::from(offset)).div_euclid(86_400)
    }
}

/// The date of a day number (days since 1970-01-01).
pub fn day_date(day: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|d| d.checked_add_signed(chrono::Duration::days(day)))
        .unwrap_or(NaiveDate::MAX)
}

/// The index of the `period` holding day number `day` (as [`Period::index`]).
pub fn period_of_day(period: Period, day: i64) -> i64 {
    match period {
        Period::Day => day,
        // 1970-01-05 (day 4) is a Monday.
        Period::Week => (day - 4).div_euclid(7),
        _ => period.index(day_date(day)),
    }
}

/// The label of a period: its first day, `YYYY-MM-DD`.
pub fn period_label(period: Period, index: i64) -> String {
    period.start(index).format("%Y-%m-%d").to_string()
}

/// How a filter rule keeps events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    /// Keeps events whose attribute is one of the values.
    In,
    /// Keeps events whose attribute is absent or none of the values.
    NotIn,
}

/// One rule of a `filter`: every rule must keep an event for it to count.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FilterRule {
    #[cfg_attr(feature = "openapi", schema(example = "country"))]
    pub attribute: String,
    pub op: FilterOp,
    #[cfg_attr(feature = "openapi", schema(example = json!(["JP", "US"])))]
    pub values: Vec<String>,
}

/// An attribute's code for "no value" in [`AttributeColumns`].
pub const ABSENT: u32 = u32::MAX;

/// Distinct strings numbered in order of first appearance, looked up by `&str` without
/// allocating: a million rows repeat a few names and values.
#[derive(Debug, Clone, Default)]
pub struct Dictionary {
    pub values: Vec<String>,
    codes: foldhash::HashMap<String, u32>,
}

impl Dictionary {
    /// The code of `value`, numbering it if it is new.
    pub fn code(&mut self, value: &str) -> u32 {
        if let Some(&code) = self.codes.get(value) {
            return code;
        }
        let code = self.values.len() as u32;
        self.values.push(value.to_owned());
        self.codes.insert(value.to_owned(), code);
        code
    }
}

/// Rows' text attributes column by column, each value a code into its column's
/// [`Dictionary`]. A column holds only the rows that have a value (in row order), so memory
/// follows the values given however many distinct attribute names the rows carry.
#[derive(Debug, Clone, Default)]
pub struct AttributeColumns {
    /// The attribute names, in order of first appearance.
    pub names: Dictionary,
    columns: Vec<AttributeColumn>,
}

#[derive(Debug, Clone, Default)]
struct AttributeColumn {
    values: Dictionary,
    /// The rows with a value, ascending, and each one's code.
    rows: Vec<u32>,
    codes: Vec<u32>,
}

impl AttributeColumns {
    /// The attributes of `rows` rows given as (name, value) pairs.
    pub fn from_pairs<'a>(rows: usize, pairs: impl Fn(usize) -> &'a [(String, String)]) -> Self {
        let mut columns = Self::default();
        for row in 0..rows {
            for (name, value) in pairs(row) {
                let column = columns.column(name);
                columns.set(column, row, value);
            }
        }
        columns
    }

    /// The index of the attribute `name`, added if new.
    pub fn column(&mut self, name: &str) -> usize {
        let k = self.names.code(name) as usize;
        if k == self.columns.len() {
            self.columns.push(AttributeColumn::default());
        }
        k
    }

    /// Gives row `row` the value `value` of attribute `column`; rows come in ascending
    /// order (a second value for the same row replaces the first).
    pub fn set(&mut self, column: usize, row: usize, value: &str) {
        let c = &mut self.columns[column];
        let code = c.values.code(value);
        if c.rows.last() == Some(&(row as u32)) {
            if let Some(last) = c.codes.last_mut() {
                *last = code;
            }
        } else {
            c.rows.push(row as u32);
            c.codes.push(code);
        }
    }

    /// The column of an attribute that some row has a value of.
    fn carried(&self, name: &str) -> Option<usize> {
        self.names
            .codes
            .get(name)
            .map(|&k| k as usize)
            .filter(|&k| !self.columns[k].rows.is_empty())
    }

    /// Every row's code of attribute `column` ([`ABSENT`]: none).
    fn dense(&self, column: usize, rows: usize) -> Vec<u32> {
        let c = &self.columns[column];
        let mut dense = vec![ABSENT; rows];
        for (&row, &code) in c.rows.iter().zip(&c.codes) {
            if let Some(slot) = dense.get_mut(row as usize) {
                *slot = code;
            }
        }
        dense
    }
}

/// Product events as read, column by column: customer index (in order of first
/// appearance), instant, event name (a code into `names`; `""`: unnamed) and attributes.
/// A row adds no allocation for an id, name or value seen before.
#[derive(Debug, Clone, Default)]
pub struct EventColumns {
    pub ids: super::series::Interner,
    pub customer: Vec<u32>,
    /// Microseconds since 1970-01-01 UTC.
    pub at: Vec<i64>,
    pub name: Vec<u32>,
    pub names: Dictionary,
    pub attributes: AttributeColumns,
    /// The first row whose timestamp is not an instant, and its text.
    pub bad_timestamp: Option<(usize, String)>,
}

impl EventColumns {
    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// A customer's index: an id given as text, or as a number (`numeric`).
    pub fn customer_index(&mut self, id: &str, numeric: bool) -> u32 {
        self.ids.index_of(id, numeric) as u32
    }

    /// An event name's code (`""`: unnamed).
    pub fn name_code(&mut self, name: &str) -> u32 {
        self.names.code(name)
    }

    /// Appends an event; `at` is the timestamp read by [`instant`], or its text when that
    /// is not an instant (the first such row is kept for the refusal).
    pub fn push(&mut self, customer: u32, at: Result<i64, &str>, name: u32) {
        let at = at.unwrap_or_else(|text| {
            if self.bad_timestamp.is_none() {
                self.bad_timestamp = Some((self.at.len(), text.to_owned()));
            }
            0
        });
        self.customer.push(customer);
        self.at.push(at);
        self.name.push(name);
    }

    /// Appends an event given as text (a CSV row's cells; `event` empty: unnamed).
    pub fn push_text(&mut self, customer: &str, timestamp: &str, event: &str) {
        let customer = self.customer_index(customer, false);
        let name = self.name_code(event);
        self.push(customer, instant(timestamp).ok_or(timestamp), name);
    }
}

/// An instant in any form [`parse_instant`] accepts, or `None`.
pub fn instant(text: &str) -> Option<i64> {
    parse_instant_with(String::new, text).ok()
}

/// An event kept: compact, with its local day, interned name and segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedEvent {
    pub customer: u32,
    pub at: i64,
    pub day: i64,
    pub name: u32,
    /// The index of its segment in [`EventLog::segments`] (0 without `group_by`).
    pub segment: u32,
}

/// The kept events, their segments and the horizon every block shares.
#[derive(Debug, Clone)]
pub struct EventLog {
    pub events: Vec<LoggedEvent>,
    pub names: Vec<String>,
    pub group_by: Vec<String>,
    /// Each segment's values, in `group_by` order, sorted.
    pub segments: Vec<Vec<String>>,
    pub zone: Zone,
    /// The latest instant among the kept events.
    pub last_at: i64,
    pub first_day: i64,
    pub last_day: i64,
}

/// A segment's values by attribute, in `group_by` order.
pub type SegmentValues = serde_json::Map<String, serde_json::Value>;

impl EventLog {
    /// Reads events: checks `group_by` and `filter` against the attributes the events carry
    /// ([`Segments::assign`]), keeps the events the filter keeps, and assigns each its segment
    /// and local day.
    pub fn build(
        columns: &EventColumns,
        zone: Zone,
        filter: &[FilterRule],
        group_by: &[String],
    ) -> Result<Self, InvalidInput> {
        if columns.is_empty() {
            return Err(InvalidInput::new(
                "/events",
                "must not be empty",
                "events is empty: give at least one event",
            ));
        }
        let segments = Segments::assign(
            columns.len(),
            &columns.attributes,
            filter,
            group_by,
            "events",
        )?;
        // Names numbered in order of first appearance among the kept events.
        let mut names: Vec<String> = Vec::new();
        let mut renumbered = vec![u32::MAX; columns.names.values.len()];
        let mut events = Vec::with_capacity(columns.len());
        for (i, segment) in segments.of_row.iter().enumerate() {
            if crate::cancel::stop_at(i) {
                break;
            }
            let Some(segment) = *segment else { continue };
            let code = columns.name[i] as usize;
            if renumbered[code] == u32::MAX {
                renumbered[code] = names.len() as u32;
                names.push(columns.names.values[code].clone());
            }
            let at = columns.at[i];
            events.push(LoggedEvent {
                customer: columns.customer[i],
                at,
                day: zone.local_day(at),
                name: renumbered[code],
                segment,
            });
        }
        let last_at = events.iter().map(|e| e.at).max().unwrap_or(0);
        let first_day = events.iter().map(|e| e.day).min().unwrap_or(0);
        let last_day = events.iter().map(|e| e.day).max().unwrap_or(0);
        // Each customer's events in time order: every block keeps this order, so the blocks'
        // own sorts find their events sorted already.
        events.sort_unstable_by_key(|e| (e.customer, e.at, e.name, e.segment));
        Ok(Self {
            events,
            names,
            group_by: group_by.to_vec(),
            segments: segments.values,
            zone,
            last_at,
            first_day,
            last_day,
        })
    }

    /// The interned id of an event name, if some kept event has it.
    pub fn name_id(&self, name: &str) -> Option<u32> {
        self.names.iter().position(|n| n == name).map(|i| i as u32)
    }

    /// The `s`-th segment's values by attribute.
    pub fn segment_values(&self, s: usize) -> SegmentValues {
        self.group_by
            .iter()
            .zip(&self.segments[s])
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect()
    }

    /// `answer` of every block: of all kept events (the total), then of each segment's
    /// events with its values.
    pub fn map_blocks<T>(
        &self,
        mut answer: impl FnMut(&mut [LoggedEvent], Option<SegmentValues>) -> T,
    ) -> (T, Vec<T>) {
        let total = answer(&mut self.events.clone(), None);
        let mut split = vec![Vec::new(); self.segments.len()];
        for e in &self.events {
            if let Some(events) = split.get_mut(e.segment as usize) {
                events.push(*e);
            }
        }
        let segments = split
            .into_iter()
            .enumerate()
            .map(|(s, mut events)| answer(&mut events, Some(self.segment_values(s))))
            .collect();
        (total, segments)
    }

    /// Refuses a name that no kept event has (`field`: `/start_event`).
    pub fn require_name(
        &self,
        field: &str,
        name: &Option<String>,
    ) -> Result<Option<u32>, InvalidInput> {
        match name {
            None => Ok(None),
            Some(n) => self.name_id(n).map(Some).ok_or_else(|| {
                let mut seen: Vec<&str> = self.names.iter().map(String::as_str).collect();
                seen.sort_unstable();
                seen.truncate(20);
                InvalidInput::new(
                    field,
                    "an event that occurs",
                    format!("{field}: no kept event is named {n:?}; the events are named {seen:?}"),
                )
            }),
        }
    }
}

/// Which rows a `filter` keeps, and the segment of each kept row by `group_by`.
#[derive(Debug, Clone, PartialEq)]
pub struct Segments {
    pub group_by: Vec<String>,
    /// Each segment's values in `group_by` order, sorted (empty without `group_by`).
    pub values: Vec<Vec<String>>,
    /// Per row: its segment's index in `values` (0 without `group_by`), or `None` when the
    /// filter drops it.
    pub of_row: Vec<Option<u32>>,
}

impl Segments {
    /// Checks `group_by` and `filter` against the attributes the rows carry, applies the
    /// filter and assigns each kept row its segment. `collection` names the rows in
    /// refusals (`/events/3/attributes/plan`).
    ///
    /// Refused, naming the field: more than two or repeated `group_by` attributes; a
    /// `group_by` or `filter` attribute no row carries; a rule without values; a kept row
    /// without a `group_by` attribute; more than [`MAX_SEGMENTS`] segments; a filter that
    /// keeps no row.
    pub fn assign(
        rows: usize,
        attributes: &AttributeColumns,
        filter: &[FilterRule],
        group_by: &[String],
        collection: &str,
    ) -> Result<Self, InvalidInput> {
        if group_by.len() > 2 {
            return Err(InvalidInput::new(
                "/group_by",
                "at most two attributes",
                format!(
                    "group_by names {} attributes; segments break down by one or two",
                    group_by.len()
                ),
            ));
        }
        let unknown = |field: String, name: &str| {
            let mut seen: Vec<&str> = attributes
                .names
                .values
                .iter()
                .zip(&attributes.columns)
                .filter(|(_, c)| !c.rows.is_empty())
                .map(|(n, _)| n.as_str())
                .collect();
            seen.sort_unstable();
            seen.truncate(20);
            InvalidInput::new(
                field.clone(),
                "an attribute the rows carry",
                format!("{field}: no row of {collection} carries an attribute {name:?}; they carry {seen:?}"),
            )
        };
        let mut group_columns = Vec::with_capacity(group_by.len());
        for (i, name) in group_by.iter().enumerate() {
            if group_by[..i].contains(name) {
                return Err(InvalidInput::new(
                    format!("/group_by/{i}"),
                    "distinct attributes",
                    format!("group_by names {name:?} twice"),
                ));
            }
            match attributes.carried(name) {
                Some(k) => group_columns.push(k),
                None => return Err(unknown(format!("/group_by/{i}"), name)),
            }
        }
        // Which rows every rule keeps, rule by rule: a rule keeps a row by its value's code
        // (no rule lists an absent value: `not_in` keeps a row without one, `in` drops it).
        let mut kept = vec![true; rows];
        for (i, rule) in filter.iter().enumerate() {
            let Some(k) = attributes.carried(&rule.attribute) else {
                return Err(unknown(format!("/filter/{i}/attribute"), &rule.attribute));
            };
            if rule.values.is_empty() {
                return Err(InvalidInput::new(
                    format!("/filter/{i}/values"),
                    "at least one value",
                    format!("filter[{i}] on {:?} lists no values", rule.attribute),
                ));
            }
            let keep_listed = rule.op == FilterOp::In;
            let column = &attributes.columns[k];
            let keeps: Vec<bool> = column
                .values
                .values
                .iter()
                .map(|v| rule.values.contains(v) == keep_listed)
                .collect();
            let mut by_rule = vec![!keep_listed; rows];
            for (&row, &code) in column.rows.iter().zip(&column.codes) {
                if let Some(slot) = by_rule.get_mut(row as usize) {
                    *slot = keeps[code as usize];
                }
            }
            for (k, by) in kept.iter_mut().zip(by_rule) {
                *k &= by;
            }
        }
        if filter.is_empty() && group_by.is_empty() {
            // Every row kept, in the one block: no attribute to read.
            return Ok(Self {
                group_by: Vec::new(),
                values: Vec::new(),
                of_row: vec![Some(0); rows],
            });
        }
        // Segments numbered in order of first appearance, keyed by their values' codes.
        let mut ids: foldhash::HashMap<[u32; 2], u32> = Default::default();
        let mut keys: Vec<[u32; 2]> = Vec::new();
        let mut of_row = Vec::with_capacity(rows);
        let group_codes: Vec<Vec<u32>> = group_columns
            .iter()
            .map(|&k| attributes.dense(k, rows))
            .collect();
        for (i, &kept) in kept.iter().enumerate() {
            if !kept {
                of_row.push(None);
                continue;
            }
            let mut key = [0u32; 2];
            for (slot, (codes, g)) in key.iter_mut().zip(group_codes.iter().zip(group_by)) {
                *slot = codes[i];
                if *slot == ABSENT {
                    return Err(InvalidInput::new(
                        format!("/{collection}/{i}/attributes/{g}"),
                        "required by group_by",
                        format!("{collection}[{i}] has no attribute {g:?}, which group_by breaks down by: give it on every row, or filter the rows without it out"),
                    ));
                }
            }
            let id = match ids.get(&key) {
                Some(&id) => id,
                None => {
                    let id = keys.len() as u32;
                    ids.insert(key, id);
                    keys.push(key);
                    id
                }
            };
            if keys.len() > MAX_SEGMENTS {
                return Err(InvalidInput::new(
                    "/group_by",
                    format!("at most {MAX_SEGMENTS} segments"),
                    format!("group_by {group_by:?} gives more than {MAX_SEGMENTS} segments: filter the rows, or break down by an attribute with fewer values"),
                ));
            }
            of_row.push(Some(id));
        }
        if rows > 0 && of_row.iter().all(Option::is_none) {
            return Err(InvalidInput::new(
                "/filter",
                "must keep at least one row",
                format!("the filter keeps none of the {collection}"),
            ));
        }
        // Segments in the order of their values; rows renumbered to match.
        let values: Vec<Vec<String>> = keys
            .iter()
            .map(|key| {
                group_columns
                    .iter()
                    .zip(key)
                    .map(|(&k, &code)| attributes.columns[k].values.values[code as usize].clone())
                    .collect()
            })
            .collect();
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[a].cmp(&values[b]));
        let mut rank = vec![0u32; order.len()];
        for (r, &s) in order.iter().enumerate() {
            rank[s] = r as u32;
        }
        for s in of_row.iter_mut().flatten() {
            *s = rank[*s as usize];
        }
        Ok(Self {
            group_by: group_by.to_vec(),
            values: if group_by.is_empty() {
                Vec::new()
            } else {
                order.iter().map(|&s| values[s].clone()).collect()
            },
            of_row,
        })
    }

    /// The `s`-th segment's values by attribute.
    pub fn segment_values(&self, s: usize) -> SegmentValues {
        self.group_by
            .iter()
            .zip(&self.values[s])
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect()
    }

    /// Whether rows are split or dropped at all.
    pub fn is_trivial(&self) -> bool {
        self.group_by.is_empty() && self.of_row.iter().all(Option::is_some)
    }

    /// `answer` of the kept rows (the total), then of each segment's rows with its values:
    /// `pick(rows, keep)` selects the rows whose index `keep` accepts.
    pub fn map_blocks<R, T>(
        &self,
        rows: &[R],
        mut answer: impl FnMut(Vec<&R>, Option<SegmentValues>) -> Result<T, InvalidInput>,
    ) -> Result<(T, Vec<T>), InvalidInput> {
        let pick = |s: Option<u32>| -> Vec<&R> {
            rows.iter()
                .zip(&self.of_row)
                .filter(|(_, of)| of.is_some() && (s.is_none() || **of == s))
                .map(|(r, _)| r)
                .collect()
        };
        let total = answer(pick(None), None)?;
        let segments = (0..self.values.len())
            .map(|s| answer(pick(Some(s as u32)), Some(self.segment_values(s))))
            .collect::<Result<Vec<T>, InvalidInput>>()?;
        Ok((total, segments))
    }
}

/// The time zone and segments an answer was computed with, echoed in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Segmenting {
    /// The IANA zone whose calendar days the periods follow.
    pub timezone: String,
    /// The attributes the segments break down by (empty: none).
    pub group_by: Vec<String>,
    /// Events read, and kept by the filter.
    pub events: u64,
    pub kept_events: u64,
}

impl Segmenting {
    pub fn of(log: &EventLog, read: usize) -> Self {
        Self {
            timezone: log.zone.name().to_owned(),
            group_by: log.group_by.clone(),
            events: read as u64,
            kept_events: log.events.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_columns_hold_only_the_values_given() {
        // 100,000 rows, each with an attribute name of its own: each column holds its one
        // row, not a slot for every row before it (which would be 5 × 10⁹ slots).
        let mut columns = AttributeColumns::default();
        for row in 0..100_000 {
            let k = columns.column(&format!("a{row}"));
            columns.set(k, row, "x");
        }
        assert_eq!(columns.columns.len(), 100_000);
        assert!(columns.columns.iter().all(|c| c.rows.len() == 1));
        // A second value for the same row replaces the first.
        let k = columns.column("a7");
        columns.set(k, 7, "y");
        assert_eq!(columns.dense(k, 9)[7], 1);
        assert_eq!(columns.dense(k, 9)[6], ABSENT);
        // Segments by one of them: the rows without it are named.
        let refused = Segments::assign(100_000, &columns, &[], &["a5".to_owned()], "events")
            .expect_err("row 0 has no a5");
        assert_eq!(refused.pointer, "/events/0/attributes/a5");
        let kept = Segments::assign(
            100_000,
            &columns,
            &[FilterRule {
                attribute: "a5".to_owned(),
                op: FilterOp::In,
                values: vec!["x".to_owned()],
            }],
            &["a5".to_owned()],
            "events",
        )
        .expect("one row kept");
        assert_eq!(kept.of_row.iter().flatten().count(), 1);
        assert_eq!(kept.of_row[5], Some(0));
        assert_eq!(kept.values, vec![vec!["x".to_owned()]]);
    }

    #[test]
    fn instants_in_every_accepted_form() {
        let z = parse_instant("/t", "2024-03-10T07:15:00Z").unwrap();
        assert_eq!(parse_instant("/t", "2024-03-10T16:15:00+09:00").unwrap(), z);
        assert_eq!(parse_instant("/t", "2024-03-10 07:15:00").unwrap(), z);
        assert_eq!(parse_instant("/t", "2024-03-10T07:15:00").unwrap(), z);
        assert_eq!(
            parse_instant("/t", "2024-03-10T07:15:00.123456Z").unwrap(),
            z + 123_456
        );
        assert_eq!(parse_instant("/t", "2024-02-29").unwrap(), 19_782 * DAY_US);
        assert!(parse_instant("/t", "2024-02-30T00:00:00Z").is_err());
        assert!(parse_instant("/t", "yesterday").is_err());
    }

    #[test]
    fn the_quick_path_reads_as_chrono_does() {
        for text in [
            "2024-03-10T07:15:00Z",
            "1969-12-31T23:59:59Z",
            "2024-02-29 23:30:00.123456Z",
            "2024-02-29T23:30:00.1Z",
            "2024-02-29T23:30:00.123456789Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999Z",
        ] {
            let chrono = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .to_utc()
                .timestamp_micros();
            assert_eq!(quick_instant(text.as_bytes()), Some(chrono), "{text}");
        }
        for text in [
            "2024-02-30T00:00:00Z",
            "2024-03-10T24:00:00Z",
            "2024-03-10T07:15:00+09:00",
            "2024-03-10T07:15:00.Z",
        ] {
            assert_eq!(quick_instant(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn local_days_follow_the_zone() {
        let tokyo = Zone::new("/timezone", "Asia/Tokyo").unwrap();
        let at = parse_instant("", "2024-02-28T23:30:00Z").unwrap();
        assert_eq!(
            day_date(Zone::default().local_day(at)).to_string(),
            "2024-02-28"
        );
        assert_eq!(day_date(tokyo.local_day(at)).to_string(), "2024-02-29");
        // New York: 2024-03-10 06:30 UTC is 01:30 EST, 07:30 UTC is 03:30 EDT; both the 10th.
        let ny = Zone::new("", "America/New_York").unwrap();
        let before = parse_instant("", "2024-03-10T04:30:00Z").unwrap();
        assert_eq!(day_date(ny.local_day(before)).to_string(), "2024-03-09");
        let after = parse_instant("", "2024-03-10T07:30:00Z").unwrap();
        assert_eq!(day_date(ny.local_day(after)).to_string(), "2024-03-10");
        assert!(Zone::new("/timezone", "Mars/Olympus").is_err());
        assert!(Zone::new("/timezone", "asia/tokyo").is_err());
    }

    #[test]
    fn weeks_start_on_monday() {
        for day in 19_700..19_800 {
            assert_eq!(
                period_of_day(Period::Week, day),
                Period::Week.index(day_date(day))
            );
        }
    }
}
