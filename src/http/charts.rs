//! Charts: the same answers drawn as SVG (`Accept: image/svg+xml` or `?format=svg`), with
//! plotters' SVG backend. Drawing is presentation, so it lives in the adapter; what is drawn
//! comes from the core's answers (and, for the purchase models, the core's P(alive) grid).
//!
//! Every chart has a `<title>`, axis labels with units, and a style sheet that recolours the
//! background, text and axes when the viewer prefers a dark scheme (CSS rules outrank SVG
//! presentation attributes, so `text[fill="#000000"]` takes the dark theme's colour); the
//! series colours read on both. The same answer always draws the same bytes. The work is
//! bounded: a cohort heatmap draws at most [`MAX_HEATMAP_CELLS`] cells and
//! [`MAX_HEATMAP_COLUMNS`] offsets, a series at most
//! [`MAX_BARS`] periods, a survival chart at most [`MAX_CURVES`] curves; more answers 422 with
//! the way out (a coarser period, fewer groups).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use crate::analytics::cohorts::CohortTable;
use crate::analytics::competing::CompetingRisks;
use crate::analytics::series::SeriesResponse;
use crate::analytics::survival::{SurvivalCurve, SurvivalResponse};
use crate::kpi::InvalidInput;
use crate::models::backtest::BacktestResponse;
use crate::models::purchase::PAliveGrid;

/// Most cells a cohort heatmap draws (cohorts × offsets).
pub const MAX_HEATMAP_CELLS: usize = 5_000;
/// Most period offsets (columns) a cohort heatmap draws.
pub const MAX_HEATMAP_COLUMNS: usize = 60;
/// Most periods a series chart draws.
pub const MAX_BARS: usize = 240;
/// Most curves a survival chart draws.
pub const MAX_CURVES: usize = 12;

/// What an answer is wanted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The JSON answer (the default).
    #[default]
    Json,
    /// The answer drawn as an SVG chart.
    Svg,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Format {
    type Rejection = ApiError;

    /// `?format=svg|json` decides; without it, an `Accept` that names `image/svg+xml` before
    /// any JSON type asks for the chart.
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, ApiError> {
        if let Some(value) = format_parameter(parts.uri.query()) {
            return match value.as_str() {
                "svg" => Ok(Self::Svg),
                "json" => Ok(Self::Json),
                other => Err(ApiError::InvalidBody {
                    pointer: "/format".to_owned(),
                    reason: "json or svg".to_owned(),
                    detail: format!("format {other:?}: give json (the default) or svg"),
                }),
            };
        }
        let accept = parts
            .headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let svg = accept.find("image/svg+xml");
        let json = accept.find("application/json");
        Ok(match (svg, json) {
            (Some(s), Some(j)) if s < j => Self::Svg,
            (Some(_), None) => Self::Svg,
            _ => Self::Json,
        })
    }
}

/// The value of the `format` query parameter, if any.
pub fn format_parameter(query: Option<&str>) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    pairs
        .into_iter()
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v)
}

/// The query without its `format` parameter (a CSV body's settings are parsed from the rest);
/// `None` when nothing is left.
pub fn without_format(query: &str) -> Option<String> {
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && *pair != "format" && !pair.starts_with("format="))
        .collect();
    (!rest.is_empty()).then(|| rest.join("&"))
}

/// Series colours (Tableau 10): distinguishable on white and on a dark background.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x4E, 0x79, 0xA7),
    RGBColor(0xF2, 0x8E, 0x2B),
    RGBColor(0x59, 0xA1, 0x4F),
    RGBColor(0xE1, 0x57, 0x59),
    RGBColor(0x76, 0xB7, 0xB2),
    RGBColor(0xB0, 0x7A, 0xA1),
    RGBColor(0xED, 0xC9, 0x48),
    RGBColor(0x9C, 0x75, 0x5F),
];

/// Text drawn on coloured cells: kept off `#000000` so that the dark theme leaves it alone.
const INK_ON_LIGHT: RGBColor = RGBColor(0x11, 0x11, 0x11);

const DARK_THEME: &str = "<style>@media (prefers-color-scheme: dark) {\
rect[fill=\"#FFFFFF\"] { fill: #0D1117 }\
text[fill=\"#000000\"] { fill: #E6EDF3 }\
line[stroke=\"#000000\"], polyline[stroke=\"#000000\"], rect[stroke=\"#000000\"], path[stroke=\"#000000\"] { stroke: #E6EDF3 }\
}</style>";

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn drawing_error<E: std::fmt::Display>(error: E) -> ApiError {
    ApiError::Internal(format!("drawing a chart: {error}"))
}

/// Draws on a white `width` × `height` canvas and returns the SVG, titled and themed.
fn render<F>(width: u32, height: u32, title: &str, draw: F) -> Result<String, ApiError>
where
    F: FnOnce(&Area<'_>) -> Result<(), ApiError>,
{
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing_error)?;
        draw(&root)?;
        root.present().map_err(drawing_error)?;
    }
    // After the opening tag: the accessible title and the dark theme.
    let open_end = svg
        .find('>')
        .ok_or_else(|| ApiError::Internal("drawing a chart: no <svg> tag".to_owned()))?;
    let mut head = String::with_capacity(title.len() + DARK_THEME.len() + 32);
    head.push_str("\n<title>");
    head.push_str(&escape(title));
    head.push_str("</title>\n");
    head.push_str(DARK_THEME);
    svg.insert_str(open_end + 1, &head);
    Ok(svg)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn too_large(pointer: &str, expected: String, detail: String) -> ApiError {
    ApiError::Invalid(InvalidInput::new(pointer, expected, detail))
}

/// A cell colour from light (0) to dark blue (1).
fn sequential(share: f64) -> RGBColor {
    let s = share.clamp(0.0, 1.0);
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * s).round() as u8;
    RGBColor(mix(0xEF, 0x08), mix(0xF3, 0x30), mix(0xFF, 0x6B))
}

fn ink_on(share: f64) -> RGBColor {
    if share > 0.5 {
        RGBColor(0xFF, 0xFF, 0xFE)
    } else {
        INK_ON_LIGHT
    }
}

fn text_style(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&BLACK)
}

/// The legend of a chart's labelled series, boxed, at `position`.
fn legend<'a, 'b: 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, CT>,
    position: SeriesLabelPosition,
) -> Result<(), ApiError> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(text_style(12))
        .draw()
        .map_err(drawing_error)
}

/// A number for a label: at most `decimals` decimals, trailing zeros dropped.
fn short(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// `/cohorts`: a heatmap of the retained shares, one row per cohort, one column per period
/// offset, each cell's share written in it, and the cohort sizes beside the rows.
pub fn cohort_heatmap(table: &CohortTable, period: &str) -> Result<String, ApiError> {
    let rows = table.cohorts.len();
    let columns = table
        .cohorts
        .iter()
        .map(|c| c.shares.len())
        .max()
        .unwrap_or(0);
    if rows * columns > MAX_HEATMAP_CELLS || columns > MAX_HEATMAP_COLUMNS {
        return Err(too_large(
            "/format",
            format!("at most {MAX_HEATMAP_CELLS} cells and {MAX_HEATMAP_COLUMNS} offsets to draw"),
            format!("the table has {rows} cohorts × {columns} offsets = {} cells; a heatmap draws at most {MAX_HEATMAP_CELLS} cells and {MAX_HEATMAP_COLUMNS} offsets: ask for a coarser period, or the JSON", rows * columns),
        ));
    }
    let (cell_w, cell_h) = (52_i32, 26_i32);
    let (left, top) = (150_i32, 70_i32);
    let width = (left + cell_w * columns as i32 + 20).max(420) as u32;
    let height = (top + cell_h * rows as i32 + 50) as u32;
    let title = format!("Cohort retention by {period}: share of each cohort active");
    render(width, height, &title, |root| {
        let draw = |e| root.draw(&e).map_err(drawing_error);
        root.draw(&Text::new(title.clone(), (10, 10), text_style(18)))
            .map_err(drawing_error)?;
        root.draw(&Text::new(
            format!("{period}s since the cohort's first activity →"),
            (left, top - 36),
            text_style(13),
        ))
        .map_err(drawing_error)?;
        root.draw(&Text::new(
            "cohort (customers)",
            (10, top - 18),
            text_style(13),
        ))
        .map_err(drawing_error)?;
        for j in 0..columns {
            let x = left + cell_w * j as i32 + cell_w / 2;
            root.draw(&Text::new(
                j.to_string(),
                (x, top - 18),
                text_style(13).pos(Pos::new(HPos::Center, VPos::Top)),
            ))
            .map_err(drawing_error)?;
        }
        for (i, cohort) in table.cohorts.iter().enumerate() {
            let y = top + cell_h * i as i32;
            draw(Text::new(
                format!("{} ({})", cohort.cohort, cohort.size),
                (10, y + cell_h / 2),
                text_style(13).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
            for (j, share) in cohort.shares.iter().enumerate() {
                let x = left + cell_w * j as i32;
                // Shares are percentages.
                let fraction = share / 100.0;
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell_w - 1, y + cell_h - 1)],
                    sequential(fraction).filled(),
                ))
                .map_err(drawing_error)?;
                draw(Text::new(
                    format!("{}%", short(*share, 1)),
                    (x + cell_w / 2, y + cell_h / 2),
                    ("sans-serif", 12)
                        .into_font()
                        .color(&ink_on(fraction))
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ))?;
            }
        }
        let footer = top + cell_h * rows as i32 + 18;
        draw(Text::new(
            format!(
                "average curve: {}",
                table
                    .average_curve
                    .iter()
                    .take(12)
                    .map(|s| format!("{}%", short(*s, 1)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (10, footer),
            text_style(12),
        ))?;
        Ok(())
    })
}

/// A round step (1, 2, 2.5 or 5 times a power of ten) at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let power = 10_f64.powf(raw.max(1e-12).log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * power)
}

/// The curve as a step function's corner points (time, value) starting at (0, `start`).
fn steps(timeline: &[f64], values: &[f64], start: f64, end_time: f64) -> Vec<(f64, f64)> {
    let mut points = Vec::with_capacity(2 * timeline.len() + 2);
    let mut last = start;
    points.push((0.0, start));
    for (t, v) in timeline.iter().zip(values) {
        points.push((*t, last));
        points.push((*t, *v));
        last = *v;
    }
    points.push((end_time, last));
    points
}

/// Customers still at risk at time `t`: those whose time on the books reaches `t` (the
/// at-risk count of the first time on the timeline at or after `t`).
fn at_risk_at(curve: &SurvivalCurve, t: f64) -> u64 {
    curve
        .timeline
        .iter()
        .position(|time| *time >= t)
        .map_or(0, |i| curve.at_risk[i])
}

/// `/survival`: Kaplan–Meier curves (one per group, or the whole base) as steps with their
/// pointwise confidence bands shaded, and the number at risk under the time axis.
pub fn survival_chart(answer: &SurvivalResponse) -> Result<String, ApiError> {
    let curves: Vec<(&str, &SurvivalCurve)> = if answer.groups.is_empty() {
        vec![("all customers", &answer.curve)]
    } else {
        answer
            .groups
            .iter()
            .map(|g| (g.group.as_str(), &g.curve))
            .collect()
    };
    if curves.len() > MAX_CURVES {
        return Err(too_large(
            "/format",
            format!("at most {MAX_CURVES} curves to draw"),
            format!(
                "{} groups; a survival chart draws at most {MAX_CURVES}: fewer groups, or the JSON",
                curves.len()
            ),
        ));
    }
    let unit = answer
        .unit
        .map(|u| format!("{u:?}").to_lowercase())
        .unwrap_or_else(|| "time".to_owned());
    let end = curves
        .iter()
        .filter_map(|(_, c)| c.timeline.last().copied())
        .fold(answer.curve.horizon, f64::max)
        .max(1e-9);
    let table_rows = curves.len() as u32 + 1;
    let (width, plot_height) = (820_u32, 440_u32);
    let height = plot_height + 24 * table_rows + 20;
    let title = format!(
        "Survival (Kaplan–Meier) with {}% bands",
        short(answer.curve.level_pct, 1)
    );
    render(width, height, &title, |root| {
        let (upper, _) = root.split_vertically(plot_height);
        let mut chart = ChartBuilder::on(&upper)
            .caption(&title, ("sans-serif", 18).into_font().color(&BLACK))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(110)
            .build_cartesian_2d(0.0..end, 0.0..1.0)
            .map_err(drawing_error)?;
        chart
            .configure_mesh()
            .x_desc(format!("tenure ({unit})"))
            .y_desc("share still a customer (%)")
            .y_label_formatter(&|v| format!("{}%", short(v * 100.0, 0)))
            .axis_desc_style(text_style(14))
            .label_style(text_style(12))
            .draw()
            .map_err(drawing_error)?;
        for (k, (name, curve)) in curves.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let curve = StepCurve {
                timeline: &curve.timeline,
                values: &curve.survival,
                lower: &curve.ci_lower,
                upper: &curve.ci_upper,
                start: 1.0,
            };
            draw_with_band(&mut chart, &curve, end, colour, name)?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        // The number at risk, under the axis at six evenly spaced times.
        let row_y = |r: u32| (plot_height + 24 * r + 6) as i32;
        root.draw(&Text::new("number at risk", (12, row_y(0)), text_style(12)))
            .map_err(drawing_error)?;
        let step = nice_step(end / 5.0);
        for k in 0..=((end / step).floor() as u32).min(10) {
            let t = step * f64::from(k);
            let (x, _) = chart.backend_coord(&(t, 0.0));
            root.draw(&Text::new(
                short(t, 1),
                (x, row_y(0)),
                text_style(12).pos(Pos::new(HPos::Center, VPos::Top)),
            ))
            .map_err(drawing_error)?;
            for (r, (_, curve)) in curves.iter().enumerate() {
                root.draw(&Text::new(
                    at_risk_at(curve, t).to_string(),
                    (x, row_y(r as u32 + 1)),
                    text_style(12).pos(Pos::new(HPos::Center, VPos::Top)),
                ))
                .map_err(drawing_error)?;
            }
        }
        for (r, (name, _)) in curves.iter().enumerate() {
            let colour = PALETTE[r % PALETTE.len()];
            root.draw(&Text::new(
                name.to_string(),
                (12, row_y(r as u32 + 1)),
                ("sans-serif", 12).into_font().color(&colour),
            ))
            .map_err(drawing_error)?;
        }
        Ok(())
    })
}

/// A step curve over a timeline with its band, starting at `start` at time 0.
struct StepCurve<'a> {
    timeline: &'a [f64],
    values: &'a [f64],
    lower: &'a [f64],
    upper: &'a [f64],
    start: f64,
}

/// Draws `curve` in `colour` over its shaded band up to `end`, labelled `name` in the legend.
fn draw_with_band<'a, 'b: 'a>(
    chart: &mut ChartContext<
        'a,
        SVGBackend<'b>,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    curve: &StepCurve<'_>,
    end: f64,
    colour: RGBColor,
    name: &str,
) -> Result<(), ApiError> {
    let lower = steps(curve.timeline, curve.lower, curve.start, end);
    let upper = steps(curve.timeline, curve.upper, curve.start, end);
    let band: Vec<(f64, f64)> = upper
        .iter()
        .copied()
        .chain(lower.iter().rev().copied())
        .collect();
    chart
        .draw_series(std::iter::once(Polygon::new(band, colour.mix(0.18))))
        .map_err(drawing_error)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            steps(curve.timeline, curve.values, curve.start, end),
            colour.stroke_width(2),
        )))
        .map_err(drawing_error)?
        .label(name.to_owned())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
    Ok(())
}

/// `/survival/competing`: each cause's cumulative incidence over tenure as a step curve with
/// its band, and beside it, dashed in the same colour, 1 − Kaplan–Meier with the other causes
/// censored (what a naive chart would show). Everyone's curves; at most [`MAX_CURVES`] causes.
pub fn competing_chart(answer: &CompetingRisks) -> Result<String, ApiError> {
    let all = &answer.all;
    if all.causes.len() > MAX_CURVES {
        return Err(too_large(
            "/format",
            format!("at most {MAX_CURVES} causes to draw"),
            format!(
                "{} causes; a cumulative-incidence chart draws at most {MAX_CURVES}: fewer causes, or the JSON",
                all.causes.len()
            ),
        ));
    }
    let end = all.timeline.last().copied().unwrap_or(1.0).max(1e-9);
    let top = all
        .causes
        .iter()
        .flat_map(|c| c.upper.iter().chain(&c.one_minus_km))
        .fold(0.0f64, |a, b| a.max(*b))
        .clamp(0.05, 1.0);
    let title = format!(
        "Cumulative incidence by cause (Aalen–Johansen) with {}% bands",
        short(answer.level_pct, 1)
    );
    render(820, 480, &title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, ("sans-serif", 18).into_font().color(&BLACK))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(110)
            .build_cartesian_2d(0.0..end, 0.0..top)
            .map_err(drawing_error)?;
        chart
            .configure_mesh()
            .x_desc("tenure")
            .y_desc("share who left for the cause (%)")
            .y_label_formatter(&|v| format!("{}%", short(v * 100.0, 0)))
            .axis_desc_style(text_style(14))
            .label_style(text_style(12))
            .draw()
            .map_err(drawing_error)?;
        for (k, cause) in all.causes.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let curve = StepCurve {
                timeline: &all.timeline,
                values: &cause.cumulative_incidence,
                lower: &cause.lower,
                upper: &cause.upper,
                start: 0.0,
            };
            draw_with_band(&mut chart, &curve, end, colour, &cause.cause)?;
            // 1 − KM, dashed: short segments along the step path.
            let naive = steps(&all.timeline, &cause.one_minus_km, 0.0, end);
            chart
                .draw_series(
                    dashes(&naive, end / 120.0)
                        .into_iter()
                        .map(|segment| PathElement::new(segment, colour.stroke_width(1))),
                )
                .map_err(drawing_error)?
                .label(format!("{}: 1 − Kaplan–Meier", cause.cause))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 6, y)], colour.stroke_width(1))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

/// A polyline cut into dashes of `length` (in x units along horizontal runs; vertical runs
/// are kept whole), every other piece left out.
fn dashes(path: &[(f64, f64)], length: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut on = true;
    for pair in path.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        if x0 == x1 {
            if on {
                out.push(vec![(x0, y0), (x1, y1)]);
            }
            continue;
        }
        let mut x = x0;
        while x < x1 {
            let next = (x + length).min(x1);
            if on {
                out.push(vec![(x, y0), (next, y1)]);
            }
            on = !on;
            x = next;
        }
    }
    out
}

/// `/series`: each period's MRR movements as stacked bars (new, expansion and reactivation
/// above zero; contraction and churn below) and the net movement as a line.
pub fn series_chart(answer: &SeriesResponse) -> Result<String, ApiError> {
    let periods = &answer.periods;
    if periods.len() > MAX_BARS {
        return Err(too_large(
            "/format",
            format!("at most {MAX_BARS} periods to draw"),
            format!(
                "{} periods; a series chart draws at most {MAX_BARS}: a coarser period, a shorter from–to, or the JSON",
                periods.len()
            ),
        ));
    }
    let ups = |p: &crate::analytics::series::PeriodFigures| {
        [p.new_mrr, p.expansion_mrr, p.reactivation_mrr]
    };
    let downs = |p: &crate::analytics::series::PeriodFigures| [p.contraction_mrr, p.churned_mrr];
    let top = periods
        .iter()
        .map(|p| ups(p).iter().sum::<f64>())
        .fold(0.0_f64, f64::max);
    let bottom = periods
        .iter()
        .map(|p| -downs(p).iter().sum::<f64>())
        .fold(0.0_f64, f64::min);
    let pad = ((top - bottom) * 0.08).max(1.0);
    // Room above the bars for the legend.
    let headroom = (top - bottom) * 0.45 + pad;
    let n = periods.len().max(1);
    let width = (160 + 48 * n as u32).clamp(640, 4000);
    let title = format!(
        "MRR movements by {}",
        format!("{:?}", answer.period).to_lowercase()
    );
    render(width, 480, &title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, ("sans-serif", 18).into_font().color(&BLACK))
            .margin(12)
            .x_label_area_size(46)
            .y_label_area_size(90)
            .build_cartesian_2d(
                (0..(n as i32 - 1).max(0)).into_segmented(),
                (bottom - pad)..(top + headroom),
            )
            .map_err(drawing_error)?;
        let labels: Vec<&str> = periods.iter().map(|p| p.period.as_str()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(24))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => labels
                    .get(*i as usize)
                    .map_or_else(String::new, |s| (*s).to_owned()),
                SegmentValue::Last => String::new(),
            })
            .x_desc("period")
            .y_desc("MRR movement (currency per month)")
            .axis_desc_style(text_style(14))
            .label_style(text_style(12))
            .draw()
            .map_err(drawing_error)?;
        let names = ["new", "expansion", "reactivation", "contraction", "churn"];
        let colours = [PALETTE[0], PALETTE[2], PALETTE[4], PALETTE[1], PALETTE[3]];
        for (k, name) in names.iter().enumerate() {
            let colour = colours[k];
            let bars = periods.iter().enumerate().map(|(i, p)| {
                let (from, to) = if k < 3 {
                    let below: f64 = ups(p)[..k].iter().sum();
                    (below, below + ups(p)[k])
                } else {
                    let above: f64 = downs(p)[..k - 3].iter().sum();
                    (-above, -above - downs(p)[k - 3])
                };
                let i = i as i32;
                Rectangle::new(
                    [
                        (SegmentValue::Exact(i), from),
                        (SegmentValue::Exact(i + 1), to),
                    ],
                    colour.filled(),
                )
            });
            chart
                .draw_series(bars)
                .map_err(drawing_error)?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                });
        }
        let net = periods.iter().enumerate().map(|(i, p)| {
            (
                SegmentValue::CenterOf(i as i32),
                ups(p).iter().sum::<f64>() - downs(p).iter().sum::<f64>(),
            )
        });
        chart
            .draw_series(LineSeries::new(net, BLACK.stroke_width(2)))
            .map_err(drawing_error)?
            .label("net")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}

/// The purchase models: P(alive) by frequency (rows) and recency (columns) at the longest T,
/// with its colour scale.
pub fn p_alive_chart(model: &str, grid: &PAliveGrid, unit: &str) -> Result<String, ApiError> {
    let rows = grid.frequencies.len();
    let columns = grid.recencies.len();
    let (left, top, plot_w, plot_h) = (90_i32, 50_i32, 600_i32, 420_i32);
    let cell_w = plot_w / columns.max(1) as i32;
    let cell_h = (plot_h / rows.max(1) as i32).max(1);
    let (plot_w, plot_h) = (cell_w * columns as i32, cell_h * rows as i32);
    let title = format!(
        "{model}: probability a customer is alive, at T = {} {unit}",
        short(grid.t, 2)
    );
    render(
        (left + plot_w + 130) as u32,
        (top + plot_h + 70) as u32,
        &title,
        |root| {
            let draw = |e: Text<'_, (i32, i32), String>| root.draw(&e).map_err(drawing_error);
            draw(Text::new(title.clone(), (10, 10), text_style(17)))?;
            for (i, row) in grid.p_alive.iter().enumerate() {
                // Frequency 0 at the bottom.
                let y = top + cell_h * (rows - 1 - i) as i32;
                for (j, cell) in row.iter().enumerate() {
                    if let Some(p) = cell {
                        let x = left + cell_w * j as i32;
                        root.draw(&Rectangle::new(
                            [(x, y), (x + cell_w, y + cell_h)],
                            sequential(*p).filled(),
                        ))
                        .map_err(drawing_error)?;
                    }
                }
            }
            root.draw(&Rectangle::new(
                [(left, top), (left + plot_w, top + plot_h)],
                BLACK.stroke_width(1),
            ))
            .map_err(drawing_error)?;
            let label_every = |n: usize| n.div_ceil(10).max(1);
            for (i, f) in grid
                .frequencies
                .iter()
                .enumerate()
                .step_by(label_every(rows))
            {
                let y = top + cell_h * (rows - 1 - i) as i32 + cell_h / 2;
                draw(Text::new(
                    short(*f, 0),
                    (left - 6, y),
                    text_style(12).pos(Pos::new(HPos::Right, VPos::Center)),
                ))?;
            }
            for (j, r) in grid
                .recencies
                .iter()
                .enumerate()
                .step_by(label_every(columns))
            {
                let x = left + cell_w * j as i32 + cell_w / 2;
                draw(Text::new(
                    short(*r, 1),
                    (x, top + plot_h + 6),
                    text_style(12).pos(Pos::new(HPos::Center, VPos::Top)),
                ))?;
            }
            draw(Text::new(
                format!("recency: time of the last purchase ({unit})"),
                (left, top + plot_h + 30),
                text_style(14),
            ))?;
            draw(Text::new(
                "frequency (repeat purchases)".to_owned(),
                (10, top - 20),
                text_style(14),
            ))?;
            // The colour scale.
            let scale_x = left + plot_w + 30;
            for k in 0..100 {
                let p = 1.0 - f64::from(k) / 99.0;
                let y = top + plot_h * k / 100;
                root.draw(&Rectangle::new(
                    [(scale_x, y), (scale_x + 18, y + plot_h / 100 + 1)],
                    sequential(p).filled(),
                ))
                .map_err(drawing_error)?;
            }
            for (p, y) in [(1.0, top), (0.5, top + plot_h / 2), (0.0, top + plot_h)] {
                draw(Text::new(
                    format!("{}%", short(p * 100.0, 0)),
                    (scale_x + 24, y),
                    text_style(12).pos(Pos::new(HPos::Left, VPos::Center)),
                ))?;
            }
            draw(Text::new(
                "P(alive)".to_owned(),
                (scale_x - 4, top - 20),
                text_style(12),
            ))?;
            Ok(())
        },
    )
}

/// `/models/backtest`: cumulative repeat purchases, actual against the model's expectation,
/// over the tracking points.
pub fn backtest_chart(
    answer: &BacktestResponse,
    model: &str,
    unit: &str,
) -> Result<String, ApiError> {
    let points = &answer.tracking;
    let end = points.iter().map(|p| p.t).fold(0.0_f64, f64::max).max(1e-9);
    let top = points
        .iter()
        .map(|p| p.actual_cumulative.max(p.expected_cumulative))
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.08;
    let title =
        format!("{model}: cumulative repeat purchases in the holdout, actual against expected");
    render(820, 480, &title, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, ("sans-serif", 16).into_font().color(&BLACK))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..end, 0.0..top)
            .map_err(drawing_error)?;
        chart
            .configure_mesh()
            .x_desc(format!("time since the end of calibration ({unit})"))
            .y_desc("cumulative repeat purchases")
            .axis_desc_style(text_style(14))
            .label_style(text_style(12))
            .draw()
            .map_err(drawing_error)?;
        let start = std::iter::once((0.0, 0.0));
        chart
            .draw_series(LineSeries::new(
                start
                    .clone()
                    .chain(points.iter().map(|p| (p.t, p.actual_cumulative))),
                PALETTE[0].stroke_width(2),
            ))
            .map_err(drawing_error)?
            .label("actual")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[0].stroke_width(2))
            });
        chart
            .draw_series(LineSeries::new(
                start.chain(points.iter().map(|p| (p.t, p.expected_cumulative))),
                PALETTE[1].stroke_width(2),
            ))
            .map_err(drawing_error)?
            .label("expected (model)")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[1].stroke_width(2))
            });
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_on_labels_drop_trailing_zeros() {
        assert_eq!(short(62.5, 1), "62.5");
        assert_eq!(short(100.0, 1), "100");
        assert_eq!(short(0.0, 2), "0");
    }

    #[test]
    fn at_risk_ticks_fall_on_round_times() {
        assert_eq!(nice_step(2.8), 5.0);
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(nice_step(20.0), 20.0);
        assert_eq!(nice_step(21.0), 25.0);
    }

    #[test]
    fn steps_hold_each_value_until_the_next_time() {
        assert_eq!(
            steps(&[1.0, 3.0], &[0.8, 0.5], 1.0, 4.0),
            vec![
                (0.0, 1.0),
                (1.0, 1.0),
                (1.0, 0.8),
                (3.0, 0.8),
                (3.0, 0.5),
                (4.0, 0.5)
            ]
        );
    }

    #[test]
    fn cell_colours_run_from_light_to_dark_and_text_stays_readable() {
        assert_eq!(sequential(0.0), RGBColor(0xEF, 0xF3, 0xFF));
        assert_eq!(sequential(1.0), RGBColor(0x08, 0x30, 0x6B));
        assert_eq!(ink_on(0.9), RGBColor(0xFF, 0xFF, 0xFE));
        assert_eq!(ink_on(0.1), INK_ON_LIGHT);
    }
}
