//! The national category catalog for digital city management (GB/T 30428):
//! 部件 (components) and 事件 (events), each split into big and small
//! categories coded 2 + 2 digits, with a handling deadline per problem level.
//!
//! The catalog is static data compiled into the binary so that every device
//! (server, tablets in the field, the hotline desk) classifies a case and
//! computes its deadline identically, even offline.

use std::fmt;

use serde::{Deserialize, Serialize};

/// 部件 (component: a physical public facility) or 事件 (event: something
/// that disturbs order or environment).
///
/// The two kinds have separate code spaces: "C0101" and "E0101" are
/// unrelated categories, so the kind is part of every code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// 部件: a physical public facility (manhole cover, lamp, bench…).
    Component,
    /// 事件: a behaviour or occurrence (illegal building, garbage, vending…).
    Event,
}

impl CaseKind {
    /// Both kinds, in code order (components first), for iteration in UIs
    /// and tests.
    pub const ALL: [CaseKind; 2] = [CaseKind::Component, CaseKind::Event];

    /// The letter that prefixes a category code of this kind.
    pub fn letter(self) -> char {
        match self {
            CaseKind::Component => 'C',
            CaseKind::Event => 'E',
        }
    }

    /// The Chinese name used on forms and in reports.
    pub fn name(self) -> &'static str {
        match self {
            CaseKind::Component => "部件",
            CaseKind::Event => "事件",
        }
    }
}

/// Problem level (问题等级); it sets the handling deadline.
///
/// Ordered from least to most pressing, so `Level::Urgent > Level::General`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 一般: the ordinary deadline.
    General,
    /// 重要: a shorter deadline.
    Important,
    /// 紧急: the shortest deadline.
    Urgent,
}

impl Level {
    /// Every level, in the order used to index `SmallCategory::deadline_hours`.
    pub const ALL: [Level; 3] = [Level::General, Level::Important, Level::Urgent];

    /// The stable machine name; identical to the serde representation so
    /// that logs, URLs and stored JSON agree.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::General => "general",
            Level::Important => "important",
            Level::Urgent => "urgent",
        }
    }

    /// The Chinese name shown to operators (一般, 重要, 紧急).
    pub fn name(self) -> &'static str {
        match self {
            Level::General => "一般",
            Level::Important => "重要",
            Level::Urgent => "紧急",
        }
    }

    /// Parses the machine name (`"general"`…) or the Chinese name
    /// (`"一般"`…), because levels arrive both from APIs and from
    /// hand-filled imports. Surrounding whitespace is ignored; anything else
    /// yields `None`.
    pub fn parse(s: &str) -> Option<Level> {
        let s = s.trim();
        Level::ALL
            .into_iter()
            .find(|level| level.as_str() == s || level.name() == s)
    }

    /// The response limit (响应时限): working minutes from a dispatch within which the unit
    /// must acknowledge it (签收). Half an hour for an urgent case, one for an important one,
    /// two otherwise, as the district's hotline rules count them.
    pub fn response_minutes(self) -> u32 {
        match self {
            Level::General => 120,
            Level::Important => 60,
            Level::Urgent => 30,
        }
    }

    /// Position in `deadline_hours` arrays; kept private so the array layout
    /// stays an implementation detail of this module.
    fn index(self) -> usize {
        match self {
            Level::General => 0,
            Level::Important => 1,
            Level::Urgent => 2,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A category code: kind letter + 2-digit big category + 2-digit small
/// category, e.g. "E0101" (事件/市容环境/私搭乱建) or "C0101"
/// (部件/公用设施/上水井盖). 'C' = component (部件), 'E' = event (事件).
///
/// Only the shape is guaranteed; whether the code names a known category is
/// a question for a [`Catalog`], because districts may extend the scheme and
/// old cases must keep their codes. Serialized as the bare string; on
/// deserialization the shape is validated, so a malformed code in stored or
/// synced data is rejected instead of producing a value that breaks the
/// accessors.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(utoipa::ToSchema),
    schema(value_type = String, pattern = "^[CE][0-9]{4}$")
)]
#[serde(try_from = "String", into = "String")]
pub struct CategoryCode(String);

impl CategoryCode {
    /// Validates the shape only: `C` or `E` followed by exactly 4 ASCII
    /// digits. Lowercase letters and surrounding whitespace are rejected so
    /// that one category has exactly one spelling (codes are map keys).
    pub fn parse(s: &str) -> Option<CategoryCode> {
        let bytes = s.as_bytes();
        if bytes.len() != 5 {
            return None;
        }
        let kind_ok = matches!(bytes[0], b'C' | b'E');
        let digits_ok = bytes[1..].iter().all(u8::is_ascii_digit);
        (kind_ok && digits_ok).then(|| CategoryCode(s.to_owned()))
    }

    /// The whole code, e.g. "E0101".
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Component for 'C', event for 'E'.
    pub fn kind(&self) -> CaseKind {
        if self.0.starts_with('C') {
            CaseKind::Component
        } else {
            CaseKind::Event
        }
    }

    /// The 2 big-category digits, e.g. "01" for "E0102".
    pub fn big(&self) -> &str {
        // The shape is validated at construction; `get` keeps this
        // panic-free even so.
        self.0.get(1..3).unwrap_or("")
    }

    /// The full 4 digits (big + small), e.g. "0102" for "E0102"; this is
    /// the form the catalog stores.
    pub fn small(&self) -> &str {
        self.0.get(1..5).unwrap_or("")
    }
}

impl fmt::Display for CategoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a string was not accepted as a [`CategoryCode`]; carries the
/// offending input so that import and sync errors can name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCategoryCode(pub String);

impl fmt::Display for InvalidCategoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid category code {:?}: expected C or E followed by 4 digits",
            self.0
        )
    }
}

impl std::error::Error for InvalidCategoryCode {}

impl TryFrom<String> for CategoryCode {
    type Error = InvalidCategoryCode;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        CategoryCode::parse(&s).ok_or(InvalidCategoryCode(s))
    }
}

impl From<CategoryCode> for String {
    fn from(code: CategoryCode) -> String {
        code.0
    }
}

/// A big category (大类), e.g. 事件 01 市容环境.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct BigCategory {
    /// Component or event.
    pub kind: CaseKind,
    /// The 2 big digits, e.g. "01".
    pub code: &'static str,
    /// Chinese name, as printed in the standard.
    pub name: &'static str,
    /// English name, for logs and non-Chinese readers.
    pub name_en: &'static str,
}

/// A small category (小类), the unit a case is filed under, with its
/// handling deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SmallCategory {
    /// Component or event.
    pub kind: CaseKind,
    /// The 2 big digits of the parent big category.
    pub big: &'static str,
    /// The 4 digits including the big digits, e.g. "0102".
    pub code: &'static str,
    /// Chinese name, as printed in the standard.
    pub name: &'static str,
    /// English name, for logs and non-Chinese readers.
    pub name_en: &'static str,
    /// Working hours allowed per level, indexed General, Important, Urgent;
    /// non-increasing, because a more pressing level never gets more time.
    pub deadline_hours: [u32; 3],
}

impl SmallCategory {
    /// The full code, kind letter included, e.g. "E0102".
    pub fn code(&self) -> CategoryCode {
        // Built directly rather than through `parse`: the static table is
        // checked by the tests, and this keeps the accessor infallible.
        let mut s = String::with_capacity(5);
        s.push(self.kind.letter());
        s.push_str(self.code);
        CategoryCode(s)
    }

    /// Working hours allowed at `level`.
    pub fn deadline_hours(&self, level: Level) -> u32 {
        self.deadline_hours[level.index()]
    }
}

/// A category catalog: big and small categories, both sorted by
/// (kind, code) so lookups can binary-search.
#[derive(Debug)]
pub struct Catalog {
    big: &'static [BigCategory],
    small: &'static [SmallCategory],
}

impl Catalog {
    /// The built-in national catalog. A static, so looking it up costs
    /// nothing and every caller shares one copy.
    pub fn standard() -> &'static Catalog {
        &STANDARD
    }

    /// All big categories, components first, by code.
    pub fn big_categories(&self) -> &[BigCategory] {
        self.big
    }

    /// All small categories, components first, by code.
    pub fn small_categories(&self) -> &[SmallCategory] {
        self.small
    }

    /// The small categories belonging to `big`, in code order; used to
    /// build the two-level pickers on the reporting forms.
    pub fn small_categories_in<'a>(
        &'a self,
        big: &'a BigCategory,
    ) -> impl Iterator<Item = &'a SmallCategory> + 'a {
        self.small
            .iter()
            .filter(move |s| s.kind == big.kind && s.big == big.code)
    }

    /// The small category with this code, if the catalog knows it.
    pub fn get(&self, code: &CategoryCode) -> Option<&SmallCategory> {
        let key = (code.kind(), code.small());
        self.small
            .binary_search_by(|s| (s.kind, s.code).cmp(&key))
            .ok()
            .and_then(|i| self.small.get(i))
    }

    /// The big category named by the code's kind and big digits. It does not
    /// require the small category to be known, so a district-specific small
    /// code still reports under the right big category.
    pub fn big_of(&self, code: &CategoryCode) -> Option<&BigCategory> {
        let key = (code.kind(), code.big());
        self.big
            .binary_search_by(|b| (b.kind, b.code).cmp(&key))
            .ok()
            .and_then(|i| self.big.get(i))
    }

    /// Working hours allowed for a category at a level; None for an unknown
    /// category.
    pub fn deadline_hours(&self, code: &CategoryCode, level: Level) -> Option<u32> {
        self.get(code).map(|s| s.deadline_hours(level))
    }
}

static STANDARD: Catalog = Catalog {
    big: BIG_CATEGORIES,
    small: SMALL_CATEGORIES,
};

use CaseKind::{Component as C, Event as E};

/// Shorthand so the table below stays one line per entry.
const fn big(
    kind: CaseKind,
    code: &'static str,
    name: &'static str,
    name_en: &'static str,
) -> BigCategory {
    BigCategory {
        kind,
        code,
        name,
        name_en,
    }
}

/// Shorthand so the table below stays one line per entry; `hours` is
/// [General, Important, Urgent] in working hours (8 per working day).
const fn small(
    kind: CaseKind,
    big: &'static str,
    code: &'static str,
    name: &'static str,
    name_en: &'static str,
    hours: [u32; 3],
) -> SmallCategory {
    SmallCategory {
        kind,
        big,
        code,
        name,
        name_en,
        deadline_hours: hours,
    }
}

/// Big categories, sorted by (kind, code) — `Catalog` relies on the order.
#[rustfmt::skip]
static BIG_CATEGORIES: &[BigCategory] = &[
    big(C, "01", "公用设施", "Public utilities"),
    big(C, "02", "道路交通", "Roads and traffic"),
    big(C, "03", "市容环境", "City appearance and environment"),
    big(C, "04", "园林绿化", "Landscaping and greenery"),
    big(C, "05", "房屋土地", "Buildings and land"),
    big(C, "06", "其他设施", "Other facilities"),
    big(C, "07", "扩展部件", "Extended components"),
    big(E, "01", "市容环境", "City appearance and environment"),
    big(E, "02", "宣传广告", "Publicity and advertising"),
    big(E, "03", "施工管理", "Construction management"),
    big(E, "04", "突发事件", "Emergencies"),
    big(E, "05", "街面秩序", "Street order"),
    big(E, "06", "其他事件", "Other events"),
    big(E, "07", "扩展事件", "Extended events"),
];

/// Small categories, sorted by (kind, code) — `Catalog` relies on the order.
///
/// Deadlines follow common district practice: hazards to people (open
/// manholes, emergencies, fallen signs) get hours; repairs that need a crew
/// or a contractor get days; demolition of illegal building gets 20 working
/// days at the general level but must be stopped within 4 hours when urgent.
#[rustfmt::skip]
static SMALL_CATEGORIES: &[SmallCategory] = &[
    // 部件 01 公用设施
    small(C, "01", "0101", "上水井盖", "Water-supply manhole cover", [8, 4, 2]),
    small(C, "01", "0102", "污水井盖", "Sewer manhole cover", [8, 4, 2]),
    small(C, "01", "0103", "雨水井盖", "Storm-drain manhole cover", [8, 4, 2]),
    small(C, "01", "0104", "消防栓", "Fire hydrant", [16, 8, 4]),
    small(C, "01", "0105", "路灯", "Street lamp", [40, 16, 8]),
    small(C, "01", "0106", "报刊亭", "Newsstand kiosk", [40, 16, 8]),
    // 部件 02 道路交通
    small(C, "02", "0201", "停车场", "Parking lot", [40, 16, 8]),
    small(C, "02", "0202", "交通标志牌", "Traffic sign", [16, 8, 4]),
    small(C, "02", "0203", "公交站亭", "Bus shelter", [40, 16, 8]),
    small(C, "02", "0204", "护栏", "Railing", [16, 8, 4]),
    small(C, "02", "0205", "交通信号灯", "Traffic signal", [8, 4, 2]),
    // 部件 03 市容环境
    small(C, "03", "0301", "公共厕所", "Public toilet", [16, 8, 4]),
    small(C, "03", "0302", "垃圾箱", "Litter bin", [8, 4, 2]),
    small(C, "03", "0303", "广告牌匾", "Billboard or shop sign", [40, 16, 4]),
    small(C, "03", "0304", "垃圾间", "Refuse collection room", [16, 8, 4]),
    // 部件 04 园林绿化
    small(C, "04", "0401", "行道树", "Street tree", [40, 16, 4]),
    small(C, "04", "0402", "绿地", "Green space", [40, 16, 8]),
    small(C, "04", "0403", "座椅", "Bench", [40, 16, 8]),
    small(C, "04", "0404", "花架花钵", "Flower stand or planter", [40, 16, 8]),
    // 部件 05 房屋土地
    small(C, "05", "0501", "房屋", "Building", [40, 16, 4]),
    small(C, "05", "0502", "人防工事", "Civil air-defence works", [40, 16, 8]),
    small(C, "05", "0503", "地下通道", "Pedestrian underpass", [16, 8, 4]),
    small(C, "05", "0504", "工地", "Construction site", [40, 16, 8]),
    // 部件 06 其他设施
    small(C, "06", "0601", "重大危险源", "Major hazard installation", [8, 4, 1]),
    small(C, "06", "0602", "工业污染源", "Industrial pollution source", [16, 8, 4]),
    small(C, "06", "0603", "水域附属设施", "Waterside facility", [40, 16, 8]),
    // 部件 07 扩展部件
    small(C, "07", "0701", "电动车充电桩", "EV charging post", [40, 16, 8]),
    small(C, "07", "0702", "非机动车停放点", "Bicycle parking area", [16, 8, 4]),
    // 事件 01 市容环境
    small(E, "01", "0101", "私搭乱建", "Illegal building", [160, 40, 4]),
    small(E, "01", "0102", "暴露垃圾", "Exposed garbage", [4, 2, 1]),
    small(E, "01", "0103", "积存垃圾渣土", "Accumulated garbage or muck", [8, 4, 2]),
    small(E, "01", "0104", "道路不洁", "Dirty road", [4, 2, 1]),
    small(E, "01", "0105", "水域不洁", "Dirty water surface", [8, 4, 2]),
    small(E, "01", "0106", "绿地脏乱", "Littered green space", [8, 4, 2]),
    // 事件 02 宣传广告
    small(E, "02", "0201", "非法小广告", "Illegal flyers", [8, 4, 2]),
    small(E, "02", "0202", "违规户外广告", "Non-compliant outdoor advertising", [40, 16, 4]),
    small(E, "02", "0203", "占道广告牌", "Sign board on the road", [8, 4, 2]),
    small(E, "02", "0204", "违规悬挂横幅", "Unauthorised banner", [8, 4, 2]),
    // 事件 03 施工管理
    small(E, "03", "0301", "施工扰民", "Construction noise", [4, 2, 1]),
    small(E, "03", "0302", "工地扬尘", "Construction dust", [4, 2, 1]),
    small(E, "03", "0303", "道路遗撒", "Spillage on the road", [4, 2, 1]),
    small(E, "03", "0304", "施工占道", "Road occupied by construction", [8, 4, 2]),
    // 事件 04 突发事件
    small(E, "04", "0401", "路面塌陷", "Road collapse", [2, 1, 1]),
    small(E, "04", "0402", "自来水管破裂", "Burst water main", [2, 1, 1]),
    small(E, "04", "0403", "燃气管道破裂", "Burst gas pipe", [2, 1, 1]),
    small(E, "04", "0404", "下水道堵塞或破损", "Blocked or broken sewer", [2, 1, 1]),
    small(E, "04", "0405", "道路积水", "Flooded road", [2, 1, 1]),
    small(E, "04", "0406", "火灾", "Fire", [2, 1, 1]),
    // 事件 05 街面秩序
    small(E, "05", "0501", "无照经营游商", "Unlicensed street vending", [4, 2, 1]),
    small(E, "05", "0502", "占道经营", "Vending on the road", [4, 2, 1]),
    small(E, "05", "0503", "店外经营", "Trading outside the shop", [4, 2, 1]),
    small(E, "05", "0504", "机动车乱停放", "Illegally parked motor vehicle", [2, 1, 1]),
    small(E, "05", "0505", "非机动车乱停放", "Disorderly parked bicycles", [4, 2, 1]),
    small(E, "05", "0506", "露天烧烤", "Open-air barbecue", [2, 1, 1]),
    // 事件 06 其他事件
    small(E, "06", "0601", "噪声扰民", "Noise nuisance", [4, 2, 1]),
    small(E, "06", "0602", "餐饮油烟", "Cooking fumes", [40, 16, 4]),
    small(E, "06", "0603", "违法排污", "Illegal discharge", [8, 4, 2]),
    // What no other category fits (a report the hotline takes outside urban management, a
    // record imported from another system): counted apart, never under a real category.
    small(E, "06", "0699", "其他事件", "Other event", [40, 16, 4]),
    // 事件 07 扩展事件
    small(E, "07", "0701", "共享单车乱停放", "Disorderly shared bikes", [4, 2, 1]),
    small(E, "07", "0702", "高空坠物隐患", "Falling-object hazard", [8, 4, 1]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn code(s: &str) -> CategoryCode {
        CategoryCode::parse(s).expect("test code is well formed")
    }

    #[test]
    fn every_small_code_parses_is_unique_and_has_its_big_category() {
        let catalog = Catalog::standard();
        let mut seen = HashSet::new();
        for small in catalog.small_categories() {
            let c = small.code();
            assert_eq!(CategoryCode::parse(c.as_str()).as_ref(), Some(&c), "{c}");
            assert!(seen.insert(c.clone()), "duplicate code {c}");
            assert_eq!(c.kind(), small.kind, "{c}");
            assert_eq!(c.big(), small.big, "{c}");
            assert_eq!(c.small(), small.code, "{c}");
            let big = catalog.big_of(&c).expect("big category exists");
            assert_eq!(big.kind, small.kind, "{c}");
            assert_eq!(big.code, small.big, "{c}");
            assert_eq!(catalog.get(&c), Some(small), "{c}");
        }
    }

    #[test]
    fn tables_are_sorted_so_binary_search_works() {
        let catalog = Catalog::standard();
        let bigs = catalog.big_categories();
        assert!(bigs
            .windows(2)
            .all(|w| (w[0].kind, w[0].code) < (w[1].kind, w[1].code)));
        let smalls = catalog.small_categories();
        assert!(smalls
            .windows(2)
            .all(|w| (w[0].kind, w[0].code) < (w[1].kind, w[1].code)));
    }

    #[test]
    fn every_big_category_has_two_to_six_small_ones() {
        let catalog = Catalog::standard();
        assert_eq!(catalog.big_categories().len(), 14);
        for big in catalog.big_categories() {
            let n = catalog.small_categories_in(big).count();
            assert!(
                (2..=6).contains(&n),
                "{} {} has {n}",
                big.kind.letter(),
                big.code
            );
        }
    }

    #[test]
    fn deadlines_shrink_as_level_rises() {
        for small in Catalog::standard().small_categories() {
            let g = small.deadline_hours(Level::General);
            let i = small.deadline_hours(Level::Important);
            let u = small.deadline_hours(Level::Urgent);
            assert!(u >= 1, "{}", small.code());
            assert!(u <= i && i <= g, "{}: {g}/{i}/{u}", small.code());
        }
    }

    #[test]
    fn parse_rejects_malformed_codes() {
        for bad in [
            "X0101", "E01", "E01a1", "", "E010101", "e0101", " E0101", "E０101",
        ] {
            assert_eq!(CategoryCode::parse(bad), None, "{bad:?}");
        }
        let c = code("C0203");
        assert_eq!(c.kind(), CaseKind::Component);
        assert_eq!(c.big(), "02");
        assert_eq!(c.small(), "0203");
        assert_eq!(c.to_string(), "C0203");
    }

    #[test]
    fn try_from_string_validates_like_parse() {
        assert_eq!(
            CategoryCode::try_from("E0102".to_owned()),
            Ok(code("E0102"))
        );
        assert_eq!(
            CategoryCode::try_from("E01".to_owned()),
            Err(InvalidCategoryCode("E01".to_owned()))
        );
        assert_eq!(String::from(code("E0102")), "E0102");
    }

    #[test]
    fn known_lookups() {
        let catalog = Catalog::standard();
        let garbage = catalog.get(&code("E0102")).expect("E0102 is known");
        assert_eq!(garbage.name, "暴露垃圾");
        assert_eq!(
            catalog.deadline_hours(&code("E0102"), Level::General),
            Some(4)
        );

        let building = catalog.get(&code("E0101")).expect("E0101 is known");
        assert_eq!(building.name, "私搭乱建");
        assert_eq!(
            catalog.deadline_hours(&code("E0101"), Level::General),
            Some(160)
        );
        assert_eq!(
            catalog.deadline_hours(&code("E0101"), Level::Urgent),
            Some(4)
        );

        assert_eq!(
            catalog.get(&code("C0101")).map(|s| s.name),
            Some("上水井盖")
        );
        assert_eq!(
            catalog.big_of(&code("E0401")).map(|b| b.name),
            Some("突发事件")
        );
        // Same digits, other kind: a different category.
        assert_ne!(catalog.get(&code("C0101")), catalog.get(&code("E0101")));
    }

    #[test]
    fn unknown_codes_give_none() {
        let catalog = Catalog::standard();
        assert_eq!(catalog.get(&code("E0199")), None);
        assert_eq!(catalog.deadline_hours(&code("E0199"), Level::General), None);
        assert_eq!(catalog.get(&code("C9901")), None);
        assert_eq!(catalog.big_of(&code("C9901")), None);
        // A district-specific small code still finds its big category.
        assert_eq!(
            catalog.big_of(&code("E0199")).map(|b| b.name),
            Some("市容环境")
        );
    }

    #[test]
    fn level_names_round_trip() {
        for level in Level::ALL {
            assert_eq!(Level::parse(level.as_str()), Some(level));
            assert_eq!(Level::parse(level.name()), Some(level));
        }
        assert_eq!(Level::parse("紧急"), Some(Level::Urgent));
        assert_eq!(Level::parse("critical"), None);
        assert_eq!(Level::parse(""), None);
        assert!(Level::Urgent > Level::General);
    }
}
