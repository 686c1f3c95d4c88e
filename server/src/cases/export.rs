//! Exports: a case list (the filters of `GET /v1/cases`) or the indicator table (the query of
//! `GET /v1/stats`) as a file, CSV or XLSX, that states what it holds.
//!
//! - CSV (UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese): a
//!   header block of lines starting with `#` (what was exported, the filters or the period,
//!   the formulas), then one header row and the rows. A reader that skips `#` lines (the
//!   `csv` crate's `comment(Some(b'#'))`) reads the table alone.
//! - XLSX (`rust_xlsxwriter`): the table on the first sheet, the same notes on a second sheet
//!   `说明 Notes` (a sheet's name cannot hold `/`).
//!
//! Column headers are Chinese and English (`立案数 Filed`). Cells are the summaries' values:
//! never a caller's personal data (the register is not read). At most [`EXPORT_MAX`] rows: a
//! longer list is refused whole (`too_large`), never cut short.

use super::{list_page, CaseFilter};
use crate::auth::{now_millis, Caller};
use crate::district_time::when;
use crate::error::{Error, Result};
use crate::summary::CaseSummary;
use crate::AppState;
use gridcase_sync_core::org::Org;
use gridcase_sync_core::{Millis, Status};

/// The most rows one export holds. A list or table longer than this is refused: narrow the
/// filters (a shorter period, one street) and export the parts.
pub const EXPORT_MAX: usize = 100_000;

/// A file format an export is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// One cell of an exported table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    /// A rate (a fraction: 0.5 is 50%); shown as a percentage in XLSX.
    Rate(f64),
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
}

/// "No data": never 0.
pub const NO_DATA: &str = "—";

/// A table to export with what it is: the sheet's name, the notes and the headers.
#[derive(Debug, Clone)]
pub struct Export {
    /// The first sheet's name (and the file's stem): ASCII-safe words after the Chinese.
    pub sheet: &'static str,
    /// The file name's stem (ASCII).
    pub stem: String,
    /// (what, value) lines of the header block and the notes sheet.
    pub notes: Vec<(String, String)>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Export {
    pub fn file_name(&self, format: Format) -> String {
        format!("{}.{}", self.stem, format.extension())
    }

    /// The file's bytes.
    pub fn write(&self, format: Format) -> Result<Vec<u8>> {
        match format {
            Format::Csv => self.csv(),
            Format::Xlsx => self.xlsx(),
        }
    }

    fn csv(&self) -> Result<Vec<u8>> {
        let internal = |e: csv::Error| Error::Internal(format!("writing CSV: {e}"));
        let mut out = "\u{feff}".as_bytes().to_vec();
        {
            let mut w = csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(&mut out);
            for (what, value) in &self.notes {
                // One field that needs no quoting, so that the line starts with `#`.
                w.write_record([note_line(what, value)]).map_err(internal)?;
            }
            w.write_record(&self.headers).map_err(internal)?;
            for row in &self.rows {
                w.write_record(row.iter().map(csv_cell)).map_err(internal)?;
            }
            w.flush()
                .map_err(|e| Error::Internal(format!("writing CSV: {e}")))?;
        }
        Ok(out)
    }

    fn xlsx(&self) -> Result<Vec<u8>> {
        use rust_xlsxwriter::{Format as Style, Workbook, XlsxError};
        let internal = |e: XlsxError| Error::Internal(format!("writing XLSX: {e}"));
        let mut book = Workbook::new();
        let bold = Style::new().set_bold();
        let percent = Style::new().set_num_format("0.0%");
        let sheet = book.add_worksheet();
        sheet.set_name(self.sheet).map_err(internal)?;
        for (col, header) in self.headers.iter().enumerate() {
            let col = column(col)?;
            sheet
                .write_string_with_format(0, col, header, &bold)
                .map_err(internal)?;
            sheet.set_column_width(col, 14).map_err(internal)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(internal)?;
        for (r, row) in self.rows.iter().enumerate() {
            let r = u32::try_from(r + 1)
                .map_err(|_| Error::Internal("too many rows for a sheet".into()))?;
            for (col, cell) in row.iter().enumerate() {
                let col = column(col)?;
                match cell {
                    Cell::Text(s) => sheet.write_string(r, col, s),
                    Cell::Number(n) => sheet.write_number(r, col, *n),
                    Cell::Rate(n) => sheet.write_number_with_format(r, col, *n, &percent),
                }
                .map_err(internal)?;
            }
        }
        let notes = book.add_worksheet();
        notes.set_name(NOTES_SHEET).map_err(internal)?;
        notes
            .write_string_with_format(0, 0, "项目 Item", &bold)
            .map_err(internal)?;
        notes
            .write_string_with_format(0, 1, "内容 Value", &bold)
            .map_err(internal)?;
        notes.set_column_width(0, 36).map_err(internal)?;
        notes.set_column_width(1, 100).map_err(internal)?;
        for (i, (what, value)) in self.notes.iter().enumerate() {
            let r = u32::try_from(i + 1).map_err(|_| Error::Internal("too many notes".into()))?;
            notes.write_string(r, 0, what).map_err(internal)?;
            notes.write_string(r, 1, value).map_err(internal)?;
        }
        book.save_to_buffer().map_err(internal)
    }
}

/// The second sheet of an XLSX export.
pub const NOTES_SHEET: &str = "说明 Notes";

fn column(i: usize) -> Result<u16> {
    u16::try_from(i).map_err(|_| Error::Internal("too many columns".into()))
}

/// A note as one CSV field starting with `#`: separators and quotes become their full-width
/// forms and line breaks spaces, so the writer never quotes it.
fn note_line(what: &str, value: &str) -> String {
    format!("# {what}: {value}")
        .chars()
        .map(|c| match c {
            ',' => '，',
            '"' => '＂',
            '\r' | '\n' => ' ',
            c => c,
        })
        .collect()
}

/// A cell as CSV text. Text that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`,
/// a tab or a carriage return first) gets a leading `'`: a description is typed by the public.
fn csv_cell(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) => {
            if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{s}")
            } else {
                s.clone()
            }
        }
        Cell::Number(n) | Cell::Rate(n) => n.to_string(),
    }
}

/// A time as district time, or nothing.
fn time_cell(t: Option<Millis>) -> Cell {
    Cell::text(t.map(when).unwrap_or_default())
}

fn yes_no(b: bool) -> Cell {
    Cell::text(if b { "是 yes" } else { "否 no" })
}

/// The columns of a case export.
const CASE_HEADERS: &[&str] = &[
    "案件编号 Number",
    "案件标识 Case id",
    "状态 Status",
    "步骤 Step",
    "创建时间 Created",
    "立案时间 Filed",
    "派遣时间 Dispatched",
    "处置时限 Deadline",
    "结案时间 Closed",
    "街道 Street",
    "社区 Community",
    "网格 Grid",
    "当前单位 Unit now",
    "计入单位 Counted unit",
    "涉及单位 Units involved",
    "类别 Category",
    "级别 Level",
    "渠道 Channel",
    "问题描述 Description",
    "问题地址 Address",
    "超期 Overdue",
    "按期结案 Closed on time",
    "返工次数 Rework",
    "延期次数 Extensions",
    "退回次数 Returns",
    "中心评价 Center's evaluation",
    "回访满意度 Callback satisfaction",
];

fn case_row(s: &CaseSummary, org: &Org, now: Millis) -> Vec<Cell> {
    use crate::console::{place, Place};
    let name = |kind, id: Option<&str>| {
        Cell::text(id.map(|id| place(org, kind, Some(id))).unwrap_or_default())
    };
    let counted = s.counted_unit();
    let on_time =
        gridcase_sync_core::fold::closed_on_time(s.closed_at, s.deadline, s.deadline_missed);
    let code = |v: Option<String>| Cell::text(v.unwrap_or_default());
    let serde_name = |v: Option<serde_json::Value>| {
        Cell::text(
            v.and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        )
    };
    vec![
        code(s.number.clone()),
        Cell::text(s.id.clone()),
        Cell::text(s.status.map_or("", Status::as_str)),
        Cell::Number(f64::from(s.step)),
        time_cell(Some(s.created_at)),
        time_cell(s.filed_at),
        time_cell(s.dispatched_at),
        time_cell(s.deadline),
        time_cell(s.closed_at),
        name(Place::Street, s.street.as_deref()),
        name(Place::Community, s.community.as_deref()),
        name(Place::Grid, s.grid.as_deref()),
        name(Place::Unit, s.unit.as_deref()),
        name(Place::Unit, counted),
        Cell::text(
            s.units
                .iter()
                .map(|u| place(org, Place::Unit, Some(u)))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        code(s.category.clone()),
        code(s.level.clone()),
        serde_name(s.channel.and_then(|c| serde_json::to_value(c).ok())),
        Cell::text(s.description.clone()),
        code(s.address.clone()),
        yes_no(s.overdue_at(now)),
        match on_time {
            Some(b) => yes_no(b),
            None => Cell::text(NO_DATA),
        },
        Cell::Number(f64::from(s.rework_count)),
        Cell::Number(f64::from(s.extensions)),
        Cell::Number(f64::from(s.returns)),
        serde_name(s.satisfaction.and_then(|v| serde_json::to_value(v).ok())),
        serde_name(
            s.public_satisfaction
                .and_then(|v| serde_json::to_value(v).ok()),
        ),
    ]
}

/// Every case of the list `filter` names, as `list_page` finds them (the caller's scope
/// exactly), newest first; refused past [`EXPORT_MAX`]. `limit` and `cursor` are ignored; a
/// phone search is refused (the file would carry the caller's number).
pub fn cases(state: &AppState, caller: &Caller, filter: &CaseFilter) -> Result<Export> {
    cases_at_most(state, caller, filter, EXPORT_MAX)
}

/// [`cases`] with another bound than [`EXPORT_MAX`] (for tests).
pub fn cases_at_most(
    state: &AppState,
    caller: &Caller,
    filter: &CaseFilter,
    max: usize,
) -> Result<Export> {
    caller.require_reader()?;
    if filter.phone.is_some() {
        return Err(Error::BadRequest(
            "a list found by a caller's phone number is not exported: the file would carry the number".into(),
        ));
    }
    let now = now_millis();
    let mut page_filter = CaseFilter {
        limit: Some(500),
        cursor: None,
        ..filter.clone()
    };
    let org = state.directory.org()?;
    // Each page made rows at once: a row is smaller than its summary.
    let mut found = Vec::new();
    loop {
        let page = list_page(state, caller, &page_filter)?;
        found.extend(
            page.cases
                .iter()
                .map(|item| case_row(&item.summary, &org, now)),
        );
        if found.len() > max {
            return Err(too_many("cases", max));
        }
        match page.next {
            Some(next) => page_filter.cursor = Some(next),
            None => break,
        }
    }
    let stated = CaseFilter {
        limit: None,
        cursor: None,
        ..filter.clone()
    };
    let mut notes = vec![
        ("导出 Export".to_owned(), "案件清单 Case list".to_owned()),
        (
            "导出时间 Exported at".to_owned(),
            format!("{} (UTC+8)", when(now)),
        ),
        ("范围 Scope".to_owned(), scope_text(caller)),
        (
            "筛选条件 Filters (GET /v1/cases)".to_owned(),
            serde_urlencoded::to_string(&stated).unwrap_or_default(),
        ),
    ];
    notes.extend(filter_notes(&stated));
    notes.extend([
        ("案件数 Cases".to_owned(), found.len().to_string()),
        (
            "上限 Limit".to_owned(),
            format!("{EXPORT_MAX} rows; a longer list is refused, never cut short"),
        ),
        (
            "时间 Times".to_owned(),
            "district time (UTC+8), YYYY-MM-DD HH:MM".to_owned(),
        ),
        (
            "计入单位 Counted unit".to_owned(),
            "the unit the indicators count the case for: the one it is dispatched to now, else the last one named".to_owned(),
        ),
        (
            "超期 Overdue".to_owned(),
            "past the deadline in force (or closed after it), or a deadline in force passed while the case was open (an overdue that happened stays); a held case's clock is stopped".to_owned(),
        ),
        (
            "按期结案 Closed on time".to_owned(),
            "closed by the deadline in force, no earlier deadline having passed while it was open; — while open".to_owned(),
        ),
        (
            "个人信息 Personal data".to_owned(),
            "no caller's name or number from the register (never read); descriptions and addresses as reported may hold what the public typed into them: handle the file as the case list".to_owned(),
        ),
    ]);
    Ok(Export {
        sheet: "案件 Cases",
        stem: format!("cases-{}", crate::district_time::compact_date(now)),
        notes,
        headers: CASE_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
        rows: found,
    })
}

fn too_many(what: &str, max: usize) -> Error {
    Error::TooLarge(format!(
        "more than {max} {what} match: an export holds at most {max} rows; narrow the filters (a shorter period, a street, a unit) and export the parts"
    ))
}

fn scope_text(caller: &Caller) -> String {
    format!(
        "{} ({})",
        serde_json::to_string(&caller.user.scope).unwrap_or_default(),
        caller.user.role.as_str()
    )
}

/// The filters given, one note each, times in district time.
fn filter_notes(f: &CaseFilter) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(given)) = serde_json::to_value(f) else {
        return Vec::new();
    };
    given
        .into_iter()
        .map(|(key, value)| {
            let shown = match (&value, key.ends_with("_from") || key.ends_with("_to")) {
                (serde_json::Value::Number(n), true) => n
                    .as_i64()
                    .map(|ms| format!("{} (UTC+8, {ms})", when(ms)))
                    .unwrap_or_else(|| n.to_string()),
                (serde_json::Value::String(s), _) => s.clone(),
                (v, _) => v.to_string(),
            };
            (format!("筛选 Filter {key}"), shown)
        })
        .collect()
}

/// The Chinese name of an indicator field, by its JSON name.
pub fn indicator_label(field: &str) -> Option<&'static str> {
    Some(match field {
        "filed" => "立案数",
        "due" => "应结案数",
        "closed" => "结案数",
        "closed_on_time" => "按期结案数",
        "closed_in_period" => "期内结案数",
        "rework" => "返工数",
        "verifications" => "核查数",
        "overdue" => "超期数",
        "extended" => "延期数",
        "voided" => "作废数",
        "evaluated" => "中心评价数",
        "satisfied" => "中心评价满意数",
        "dissatisfied" => "中心评价不满意数",
        "received" => "受理数",
        "answered_directly" => "直接答复数",
        "called_back" => "回访数",
        "called_back_satisfied" => "回访满意数",
        "called_back_solved" => "回访解决数",
        "called_back_solved_answers" => "回访答复解决与否数",
        "called_back_dissatisfied" => "回访不满意数",
        "closing_rate" => "结案率",
        "on_time_rate" => "按期结案率",
        "rework_rate" => "返工率",
        "satisfaction_rate" => "中心评价满意率",
        "first_contact_rate" => "一次办结率",
        "direct_answer_rate" => "直接答复率",
        "public_satisfaction_rate" => "回访满意率",
        "public_solved_rate" => "回访解决率",
        "dispatches" => "派遣数",
        "returns" => "退回数",
        "acknowledged" => "签收数",
        "response_judged" => "响应评判数",
        "acknowledged_on_time" => "按时签收数",
        "return_rate" => "退回率",
        "accurate_dispatch_rate" => "派遣准确率",
        "acknowledged_on_time_rate" => "按时签收率",
        "response_rate" => "响应率",
        "mean_response_minutes" => "平均响应时长(分钟)",
        "response_ms" => "响应时长合计(毫秒)",
        "score" => "综合得分",
        "grade" => "等级",
        "rank" => "排名",
        _ => return None,
    })
}

/// The formulas of the indicators, from their documentation (the OpenAPI schema's
/// descriptions of `Indicators`, which are the doc comments of its fields).
fn indicator_formulas() -> Vec<(String, String)> {
    use utoipa::openapi::{RefOr, Schema};
    let RefOr::T(Schema::Object(object)) =
        <crate::indicators::Indicators as utoipa::PartialSchema>::schema()
    else {
        return Vec::new();
    };
    object
        .properties
        .iter()
        .filter_map(|(field, schema)| {
            let description = match schema {
                RefOr::T(Schema::Object(o)) => o.description.clone(),
                RefOr::T(Schema::AllOf(a)) => a.description.clone(),
                RefOr::T(Schema::OneOf(o)) => o.description.clone(),
                _ => None,
            }?;
            Some((
                format!("{} {field}", indicator_label(field).unwrap_or(""))
                    .trim()
                    .to_owned(),
                description.replace('\n', " "),
            ))
        })
        .collect()
}

/// The period and grouping of an indicator export, as `GET /v1/stats` took them.
pub struct StatsShape<'a> {
    pub from: Millis,
    pub to: Millis,
    pub now: Millis,
    pub by: &'a str,
    /// The query as given (`from=...&to=...&by=unit`).
    pub query: String,
    /// The score's weights (`--score-weights`).
    pub weights: String,
}

/// The indicator table of `GET /v1/stats` (its groups, then the total) as an export: a row
/// per group with its key and name, a column per field of `Indicators`.
pub fn indicators<T: serde::Serialize>(
    caller: &Caller,
    shape: &StatsShape<'_>,
    groups: &std::collections::BTreeMap<String, T>,
    total: &T,
    name: impl Fn(&str) -> String,
) -> Result<Export> {
    if groups.len() >= EXPORT_MAX {
        return Err(too_many("groups", EXPORT_MAX));
    }
    let as_object = |v: &T| match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(o)) => Ok(o),
        _ => Err(Error::Internal(
            "indicators did not serialize as an object".into(),
        )),
    };
    let total = as_object(total)?;
    let fields: Vec<String> = total.keys().cloned().collect();
    let mut headers = vec![format!("分组 Group ({})", shape.by), "名称 Name".to_owned()];
    headers.extend(fields.iter().map(|f| match indicator_label(f) {
        Some(zh) => format!("{zh} {f}"),
        None => f.clone(),
    }));
    let row = |key: &str, shown: String, o: &serde_json::Map<String, serde_json::Value>| {
        let mut cells = vec![Cell::text(key), Cell::text(shown)];
        cells.extend(fields.iter().map(|f| match o.get(f) {
            Some(serde_json::Value::Number(n)) => {
                let n = n.as_f64().unwrap_or(f64::NAN);
                if f.ends_with("_rate") {
                    Cell::Rate(n)
                } else {
                    Cell::Number(n)
                }
            }
            None | Some(serde_json::Value::Null) => Cell::text(NO_DATA),
            Some(serde_json::Value::String(s)) => Cell::text(s.clone()),
            Some(v) => Cell::text(v.to_string()),
        }));
        cells
    };
    let mut rows = Vec::with_capacity(groups.len() + 1);
    for (key, g) in groups {
        rows.push(row(key, name(key), &as_object(g)?));
    }
    rows.push(row("total", "合计 Total".to_owned(), &total));
    let mut notes = vec![
        (
            "导出 Export".to_owned(),
            "绩效指标 Indicators (GET /v1/stats)".to_owned(),
        ),
        (
            "时段 Period".to_owned(),
            format!(
                "{} — {} (UTC+8; from {} inclusive to {} exclusive, ms since the epoch)",
                when(shape.from),
                when(shape.to),
                shape.from,
                shape.to
            ),
        ),
        (
            "计算时刻 As of".to_owned(),
            format!("{} (UTC+8)", when(shape.now)),
        ),
        ("分组 Grouped by".to_owned(), shape.by.to_owned()),
        ("查询 Query".to_owned(), shape.query.clone()),
        ("范围 Scope".to_owned(), scope_text(caller)),
        ("得分权重 Score weights".to_owned(), shape.weights.clone()),
        (
            "比率 Rates".to_owned(),
            format!("fractions (0.5 = 50%); {NO_DATA}: no data (a zero denominator), never 0%"),
        ),
    ];
    notes.extend(indicator_formulas());
    Ok(Export {
        sheet: "指标 Indicators",
        stem: format!(
            "indicators-{}-{}-{}",
            shape.by,
            crate::district_time::compact_date(shape.from),
            crate::district_time::compact_date(shape.to.saturating_sub(1))
        ),
        notes,
        headers,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Export {
        Export {
            sheet: "案件 Cases",
            stem: "t".into(),
            notes: vec![("筛选 Filter".into(), "a, \"b\"\nc".into())],
            headers: vec!["编号 Number".into(), "率 Rate".into()],
            rows: vec![
                vec![Cell::text("=1+1"), Cell::Rate(0.5)],
                vec![Cell::text("路灯, 不亮"), Cell::Number(3.0)],
            ],
        }
    }

    #[test]
    fn csv_reads_back_past_its_header_block() {
        let bytes = sample().write(Format::Csv).expect("csv");
        assert!(bytes.starts_with("\u{feff}# 筛选 Filter".as_bytes()));
        let mut r = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .flexible(true)
            .from_reader(&bytes[..]);
        let headers = r.headers().expect("headers").clone();
        assert_eq!(
            headers.iter().collect::<Vec<_>>(),
            ["编号 Number", "率 Rate"]
        );
        let rows: Vec<Vec<String>> = r
            .records()
            .map(|r| r.expect("row").iter().map(str::to_owned).collect())
            .collect();
        assert_eq!(rows, [["'=1+1", "0.5"], ["路灯, 不亮", "3"]]);
    }

    #[test]
    fn xlsx_reads_back_with_its_notes_sheet() {
        use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
        let bytes = sample().write(Format::Xlsx).expect("xlsx");
        let mut book: Xlsx<_> =
            open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("an xlsx");
        assert_eq!(book.sheet_names(), ["案件 Cases", NOTES_SHEET]);
        let table = book.worksheet_range("案件 Cases").expect("table");
        assert_eq!(
            table.get_value((0, 0)),
            Some(&Data::String("编号 Number".into()))
        );
        assert_eq!(table.get_value((1, 0)), Some(&Data::String("=1+1".into())));
        assert_eq!(table.get_value((1, 1)), Some(&Data::Float(0.5)));
        let notes = book.worksheet_range(NOTES_SHEET).expect("notes");
        assert_eq!(
            notes.get_value((1, 1)),
            Some(&Data::String("a, \"b\"\nc".into()))
        );
    }
}
