//! The district's address register (地址库): the doorplates of the district, each placed in a
//! grid of the organization. Open311 locates a request that gives only an `address_string` or
//! an `address_id` here, and the operator's workbench will search it as the operator types.
//!
//! An address is a street (街道), a road or hutong, a number and maybe a building. People write
//! them with or without spaces, in full-width or half-width characters, with or without the
//! street, most general part first (Chinese usage) or most specific first (GeoReport's advice):
//! [`normalize`] removes those differences, and [`Register::lookup`] matches exactly what is
//! left, so an address never resolves to a guess. [`Register::search`] is the looser,
//! as-you-type question.

use crate::error::{Error, Result};
use gridcase_sync_core::org::Org;
use gridcase_sync_core::{limits, GridId};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// One address of the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The register's own id (GeoReport's `address_id`).
    pub id: String,
    /// The street (街道, the sub-district).
    pub street: String,
    /// The road, lane or hutong.
    pub road: String,
    /// The doorplate number, as written on it (`12号`, `甲3号`).
    pub number: String,
    /// A building inside the doorplate's compound (`2号楼`), if the address names one.
    pub building: Option<String>,
    /// The grid the address lies in.
    pub grid: GridId,
}

impl Address {
    /// The address as GeoReport answers show it: most specific part first, the street last.
    pub fn text(&self) -> String {
        format!(
            "{}{}{}, {}",
            self.road,
            self.number,
            self.building.as_deref().unwrap_or(""),
            self.street
        )
    }

    /// Every normalized form that names this address exactly.
    fn keys(&self) -> Vec<String> {
        let building = self.building.as_deref().unwrap_or("");
        let mut numbers = vec![self.number.as_str()];
        // "12号" is also written "12".
        if let Some(bare) = self.number.strip_suffix('号').filter(|n| !n.is_empty()) {
            numbers.push(bare);
        }
        let mut keys = Vec::new();
        for number in numbers {
            let core = normalize(&format!("{}{number}{building}", self.road));
            let street = normalize(&self.street);
            keys.push(format!("{street}{core}"));
            keys.push(format!("{core}{street}"));
            keys.push(core);
        }
        keys.sort();
        keys.dedup();
        keys
    }
}

/// What an address text names in the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    Found(&'a Address),
    /// Several addresses read the same (a road that crosses streets, written without its street).
    Ambiguous(usize),
    NotFound,
}

/// Addresses, found by id or by any of their normalized forms.
#[derive(Debug, Default)]
pub struct Register {
    addresses: Vec<Address>,
    by_id: HashMap<String, usize>,
    /// Normalized form → the addresses it names (in register order).
    by_key: HashMap<String, Vec<usize>>,
}

/// One row of the CSV file.
#[derive(Debug, Deserialize)]
struct Row {
    id: String,
    street: String,
    road: String,
    number: String,
    #[serde(default)]
    building: Option<String>,
    grid: String,
}

/// The CSV header the register file starts with.
pub const CSV_HEADER: &str = "id,street,road,number,building,grid";

impl Register {
    /// A register of these addresses. Ids must be unique and every part within its bounds.
    pub fn new(addresses: Vec<Address>) -> Result<Register> {
        let mut register = Register::default();
        for a in addresses {
            for (what, text, max) in [
                ("id", a.id.as_str(), limits::ID),
                ("grid", a.grid.as_str(), limits::ID),
                ("street", a.street.as_str(), limits::NAME),
                ("road", a.road.as_str(), limits::NAME),
                ("number", a.number.as_str(), limits::NAME),
                (
                    "building",
                    a.building.as_deref().unwrap_or(""),
                    limits::NAME,
                ),
            ] {
                limits::check_text(what, text, max)
                    .map_err(|v| Error::Config(format!("{}: {}", a.id, v.message)))?;
            }
            for (what, text) in [
                ("id", a.id.as_str()),
                ("road", a.road.as_str()),
                ("number", a.number.as_str()),
                ("grid", a.grid.as_str()),
            ] {
                if text.trim().is_empty() {
                    return Err(Error::Config(format!("{}: the {what} is empty", a.id)));
                }
            }
            let index = register.addresses.len();
            if register.by_id.insert(a.id.clone(), index).is_some() {
                return Err(Error::Config(format!("the id {} is given twice", a.id)));
            }
            for key in a.keys() {
                register.by_key.entry(key).or_default().push(index);
            }
            register.addresses.push(a);
        }
        Ok(register)
    }

    /// Reads a register from CSV with the header [`CSV_HEADER`] (UTF-8; an empty `building` is
    /// none). A refusal names the line, or the address's id.
    pub fn load_csv(path: &Path) -> Result<Register> {
        let fail = |e: String| Error::Config(format!("address register {}: {e}", path.display()));
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(|e| fail(e.to_string()))?;
        let mut addresses = Vec::new();
        for row in reader.deserialize::<Row>() {
            let row = row.map_err(|e| fail(e.to_string()))?;
            addresses.push(Address {
                id: row.id,
                street: row.street,
                road: row.road,
                number: row.number,
                building: row.building.filter(|b| !b.is_empty()),
                grid: row.grid.as_str().into(),
            });
        }
        Register::new(addresses).map_err(|e| match e {
            Error::Config(message) => fail(message),
            other => other,
        })
    }

    /// The `--demo` district's register: a few hundred doorplates on the roads and hutongs of
    /// its four grids, some with buildings. Ids are stable: `D` + the grid + a serial.
    pub fn demo() -> Register {
        // (grid, street, road, highest number)
        const ROADS: [(&str, &str, &str, u32); 12] = [
            ("g1", "东华门街道", "南池子大街", 60),
            ("g1", "东华门街道", "韶九胡同", 40),
            ("g1", "东华门街道", "东华门大街", 30),
            ("g2", "东华门街道", "南河沿大街", 50),
            ("g2", "东华门街道", "磁器库胡同", 25),
            ("g2", "东华门街道", "智德北巷", 20),
            ("g3", "东华门街道", "多福巷", 40),
            ("g3", "东华门街道", "骑河楼街", 35),
            ("g3", "东华门街道", "北河胡同", 20),
            ("g4", "景山街道", "吉祥胡同", 30),
            ("g4", "景山街道", "景山东街", 40),
            ("g4", "景山街道", "三眼井胡同", 40),
        ];
        let mut addresses = Vec::new();
        let mut serial: HashMap<&str, u32> = HashMap::new();
        let mut add = |grid: &'static str, street: &str, road: &str, number: u32, building| {
            let n = serial.entry(grid).or_default();
            *n += 1;
            addresses.push(Address {
                id: format!("D{grid}-{n:04}"),
                street: street.to_owned(),
                road: road.to_owned(),
                number: format!("{number}号"),
                building,
                grid: grid.into(),
            });
        };
        for (grid, street, road, last) in ROADS {
            for number in 1..=last {
                add(grid, street, road, number, None);
                // Every tenth doorplate of a main street is a compound of buildings.
                if number % 10 == 0 && road.ends_with("大街") {
                    for b in 1..=3 {
                        add(grid, street, road, number, Some(format!("{b}号楼")));
                    }
                }
            }
        }
        Register::new(addresses).expect("the demo register is valid")
    }

    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    /// Every address, in register order.
    pub fn addresses(&self) -> &[Address] {
        &self.addresses
    }

    /// The address with this id.
    pub fn get(&self, id: &str) -> Option<&Address> {
        self.by_id.get(id.trim()).map(|&i| &self.addresses[i])
    }

    /// The address a text names exactly, once normalized ([`normalize`]).
    pub fn lookup(&self, text: &str) -> Lookup<'_> {
        match self.by_key.get(&normalize(text)).map(Vec::as_slice) {
            Some([one]) => Lookup::Found(&self.addresses[*one]),
            Some(many) if !many.is_empty() => Lookup::Ambiguous(many.len()),
            _ => Lookup::NotFound,
        }
    }

    /// Addresses a partly typed text may mean, best first: those with a form equal to it,
    /// then those with a form starting with it, then those containing it; register order
    /// within each. At most `limit`.
    pub fn search(&self, text: &str, limit: usize) -> Vec<&Address> {
        let query = normalize(text);
        if query.is_empty() || limit == 0 {
            return Vec::new();
        }
        let mut best: HashMap<usize, u8> = HashMap::new();
        for (key, indices) in &self.by_key {
            let rank = if *key == query {
                0
            } else if key.starts_with(&query) {
                1
            } else if key.contains(&query) {
                2
            } else {
                continue;
            };
            for &i in indices {
                let r = best.entry(i).or_insert(rank);
                *r = (*r).min(rank);
            }
        }
        let mut found: Vec<(u8, usize)> = best.into_iter().map(|(i, r)| (r, i)).collect();
        found.sort_unstable();
        found
            .into_iter()
            .take(limit)
            .map(|(_, i)| &self.addresses[i])
            .collect()
    }

    /// The grids the register names that the organization lacks (an address there cannot be
    /// located until the organization has them).
    pub fn unknown_grids(&self, org: &Org) -> Vec<GridId> {
        let mut unknown: Vec<GridId> = self
            .addresses
            .iter()
            .filter(|a| org.territory(&a.grid).is_none())
            .map(|a| a.grid.clone())
            .collect();
        unknown.sort();
        unknown.dedup();
        unknown
    }
}

/// An address text as the register compares it: full-width letters, digits and signs made
/// half-width, letters in lower case, and whitespace and commas (`,` `，` `、`) removed.
pub fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .filter(|c| !c.is_whitespace() && !matches!(c, ',' | '、'))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(
        id: &str,
        street: &str,
        road: &str,
        number: &str,
        building: Option<&str>,
    ) -> Address {
        Address {
            id: id.into(),
            street: street.into(),
            road: road.into(),
            number: number.into(),
            building: building.map(Into::into),
            grid: "g1".into(),
        }
    }

    #[test]
    fn normalizing_removes_spacing_width_case_and_commas() {
        assert_eq!(normalize(" 南池子大街　１２号 Ａ座 "), "南池子大街12号a座");
        assert_eq!(
            normalize("12号, 南池子大街，东华门街道"),
            "12号南池子大街东华门街道"
        );
    }

    #[test]
    fn an_address_is_found_however_it_is_spaced_ordered_or_numbered() {
        let r = Register::new(vec![
            address("a1", "东华门街道", "南池子大街", "12号", None),
            address("a2", "东华门街道", "南池子大街", "12号", Some("2号楼")),
        ])
        .expect("valid");
        for text in [
            "南池子大街12号",
            "南池子大街 12 号",
            "南池子大街１２号",
            "南池子大街12",
            "东华门街道 南池子大街 12号",
            "南池子大街12号, 东华门街道",
        ] {
            assert_eq!(r.lookup(text), Lookup::Found(&r.addresses()[0]), "{text}");
        }
        assert_eq!(
            r.lookup("南池子大街12号2号楼"),
            Lookup::Found(&r.addresses()[1])
        );
        assert_eq!(r.lookup("南池子大街13号"), Lookup::NotFound);
        assert_eq!(r.lookup("南池子大街"), Lookup::NotFound, "no guessing");
        assert_eq!(
            r.get("a2").map(Address::text).as_deref(),
            Some("南池子大街12号2号楼, 东华门街道")
        );
    }

    #[test]
    fn the_same_doorplate_in_two_streets_needs_its_street() {
        let r = Register::new(vec![
            address("a1", "东华门街道", "长街", "1号", None),
            address("a2", "景山街道", "长街", "1号", None),
        ])
        .expect("valid");
        assert_eq!(r.lookup("长街1号"), Lookup::Ambiguous(2));
        assert_eq!(
            r.lookup("景山街道长街1号"),
            Lookup::Found(&r.addresses()[1])
        );
    }

    #[test]
    fn search_ranks_exact_then_prefix_then_contained() {
        let r = Register::new(vec![
            address("a1", "东华门街道", "北河胡同", "1号", None),
            address("a2", "东华门街道", "河沿街", "1号", None),
            address("a3", "东华门街道", "南河沿大街", "1号", None),
        ])
        .expect("valid");
        let ids = |q: &str, n| {
            r.search(q, n)
                .iter()
                .map(|a| a.id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("河沿", 10), ["a2", "a3"]);
        assert_eq!(ids("河", 2), ["a2", "a1"]);
        assert!(ids("  ", 10).is_empty());
        assert!(ids("西单", 10).is_empty());
    }

    #[test]
    fn a_csv_register_loads_and_refuses_what_is_wrong() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("addresses.csv");
        std::fs::write(
            &path,
            format!("\u{FEFF}{CSV_HEADER}\nA1, 东华门街道 ,南池子大街,1号,,g1\nA2,东华门街道,南池子大街,10号,1号楼,g1\n"),
        )
        .expect("write");
        let r = Register::load_csv(&path).expect("loads");
        assert_eq!(r.len(), 2);
        assert_eq!(r.get("A1").map(|a| a.street.as_str()), Some("东华门街道"));
        assert_eq!(r.get("A1").and_then(|a| a.building.clone()), None);
        assert_eq!(
            r.get("A2").and_then(|a| a.building.clone()).as_deref(),
            Some("1号楼")
        );

        std::fs::write(
            &path,
            format!("{CSV_HEADER}\nA1,s,r,1号,,g1\nA1,s,r,2号,,g1\n"),
        )
        .expect("write");
        let e = Register::load_csv(&path)
            .expect_err("a repeated id")
            .to_string();
        assert!(e.contains("A1 is given twice"), "{e}");
        std::fs::write(&path, format!("{CSV_HEADER}\nA1,s,r\n")).expect("write");
        assert!(Register::load_csv(&path).is_err(), "a short line");
        std::fs::write(&path, format!("{CSV_HEADER}\nA1,s,r,,,g1\n")).expect("write");
        let e = Register::load_csv(&path)
            .expect_err("no number")
            .to_string();
        assert!(e.contains("number is empty"), "{e}");
    }

    #[test]
    fn the_demo_register_covers_every_demo_grid() {
        let r = Register::demo();
        assert!((300..1000).contains(&r.len()), "{}", r.len());
        let org = crate::demo::org();
        assert!(r.unknown_grids(&org).is_empty());
        for grid in org.grids.keys() {
            assert!(r.addresses().iter().any(|a| &a.grid == grid), "{grid}");
        }
        assert!(matches!(r.lookup("韶九胡同 8号"), Lookup::Found(a) if a.grid.as_str() == "g1"));
        assert!(matches!(r.lookup("吉祥胡同3号"), Lookup::Found(a) if a.grid.as_str() == "g4"));
    }
}
