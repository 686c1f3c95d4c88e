//! The words of free text that the query index finds a case by (its description, its address),
//! and what a typed query matches.
//!
//! Chinese is written without spaces, and cutting it into words needs a dictionary, which would
//! miss the names of places, shops and things a hotline hears every day. So every CJK character
//! is a token, and so is every pair of adjacent ones: a text that contains a query contains
//! each of the query's characters and pairs, so a query of one character is found under that
//! character and a longer one under its rarest pair. Letters and digits run together into
//! words, in lower case; a word next to a CJK character is also a token with that character
//! (`街12`, `12号`), since a doorplate's number alone is common and its road's pairs are too,
//! while the two together are rare. Full-width forms (what Chinese input methods type: `ＬＥＤ`,
//! `１２`) read as their half-width ASCII first, the part of NFKC that matters here.
//!
//! Only the first [`INDEXED_CHARS`] characters of a text are read, so that a pasted novel
//! cannot put thousands of entries in the index; a query matches only there (see
//! [`TextQuery::matches`]), so a search finds the same cases whichever way it is answered.

use std::collections::BTreeSet;

/// How much of a text is indexed and searched, in characters.
pub const INDEXED_CHARS: usize = 2_000;

/// The longest word token, in characters: a longer run of letters or digits is indexed (and
/// queried) by its first this many, which still finds it.
pub const WORD_CHARS: usize = 32;

/// A character as the index compares it: full-width ASCII forms and the ideographic space as
/// their half-width forms. (Lower case is applied after, and may give more than one char.)
fn half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        c => c,
    }
}

/// Whether a character is written in the CJK scripts, without spaces between words: Han
/// ideographs (with the extensions and compatibility forms), kana and hangul.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3005}' | '\u{3007}'
        | '\u{3040}'..='\u{30FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3FFFF}')
}

/// The text as searches compare it: its first [`INDEXED_CHARS`] characters, half-width and in
/// lower case.
pub fn fold(text: &str) -> String {
    text.chars()
        .take(INDEXED_CHARS)
        .map(half_width)
        .flat_map(char::to_lowercase)
        .collect()
}

/// The tokens of a text: each CJK character, each pair of adjacent CJK characters, each word
/// of letters and digits (at most [`WORD_CHARS`] of it), and each word with the CJK character
/// right before or after it; over the folded text, sorted, each once.
pub fn tokens(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    // The CJK character just read, if the last character was one.
    let mut cjk: Option<char> = None;
    // The word being read, its length, and the CJK character right before it.
    let mut word = String::new();
    let mut word_chars = 0;
    let mut before_word: Option<char> = None;
    let mut end_word = |word: &mut String, after: Option<char>, before: Option<char>| {
        if word.is_empty() {
            return;
        }
        if let Some(b) = before {
            out.insert(format!("{b}{word}"));
        }
        if let Some(a) = after {
            out.insert(format!("{word}{a}"));
        }
        out.insert(std::mem::take(word));
    };
    let mut cjk_tokens = BTreeSet::new();
    for c in fold(text).chars() {
        if is_cjk(c) {
            end_word(&mut word, Some(c), before_word.take());
            word_chars = 0;
            cjk_tokens.insert(c.to_string());
            if let Some(p) = cjk {
                cjk_tokens.insert([p, c].iter().collect());
            }
            cjk = Some(c);
        } else if c.is_alphanumeric() {
            if word_chars == 0 {
                before_word = cjk;
            }
            cjk = None;
            if word_chars < WORD_CHARS {
                word.push(c);
            }
            word_chars += 1;
        } else {
            cjk = None;
            end_word(&mut word, None, before_word.take());
            word_chars = 0;
        }
    }
    end_word(&mut word, None, before_word.take());
    out.extend(cjk_tokens);
    out
}

/// Whether a token is made of CJK characters only (a character or a pair), which a text that
/// contains the query's text always has.
fn all_cjk(token: &str) -> bool {
    token.chars().all(is_cjk)
}

/// Whether a token is one CJK character.
fn is_character(token: &str) -> bool {
    let mut chars = token.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if is_cjk(c))
}

/// A typed query for text: the folded query and its tokens.
///
/// A text matches when its folded text contains the folded query and has every token of the
/// query: so a word is found whole ("lamp" finds "the lamp is out" and "LAMP", never
/// "lamppost"; "12号" never finds "112号"), while Chinese matches anywhere ("路灯" finds
/// "小区路灯不亮"). The index's entries under any token of the query are a superset of the
/// matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextQuery {
    folded: String,
    tokens: BTreeSet<String>,
}

impl TextQuery {
    pub fn new(query: &str) -> TextQuery {
        TextQuery {
            folded: fold(query),
            tokens: tokens(query),
        }
    }

    /// Whether the query has no token (empty, or only punctuation and spaces): no term of the
    /// index can find it.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The tokens worth looking up to find the matches: all but the CJK characters that are
    /// part of a longer token (a character's entries include those of every token holding it,
    /// so it is never the rarer).
    pub fn probes(&self) -> Vec<&str> {
        let in_pairs: BTreeSet<char> = self
            .tokens
            .iter()
            .filter(|t| !is_character(t))
            .flat_map(|t| t.chars())
            .filter(|c| is_cjk(*c))
            .collect();
        let mut probes: Vec<&str> = self
            .tokens
            .iter()
            .filter(|t| !is_character(t) || t.chars().any(|c| !in_pairs.contains(&c)))
            .map(String::as_str)
            .collect();
        // The most specific first, since a planner weighs only the first few: a number with
        // its neighbouring character (`同8`, `8号`: a doorplate), then pairs and words, then
        // lone characters.
        let specificity = |t: &str| {
            let digits = t.chars().any(|c| c.is_ascii_digit());
            let cjk = t.chars().any(is_cjk);
            match (digits && cjk, is_character(t)) {
                (true, _) => 0,
                (false, false) => 1,
                (false, true) => 2,
            }
        };
        probes.sort_by_key(|t| specificity(t));
        probes
    }

    /// Whether a text matches the query (see [`TextQuery`]).
    pub fn matches(&self, text: &str) -> bool {
        if !fold(text).contains(&self.folded) {
            return false;
        }
        let words: Vec<&String> = self.tokens.iter().filter(|t| !all_cjk(t)).collect();
        if words.is_empty() {
            // Contained, so every character and pair of the query is in the text.
            return true;
        }
        let have = tokens(text);
        words.into_iter().all(|w| have.contains(w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<String> {
        tokens(text).into_iter().collect()
    }

    #[test]
    fn chinese_gives_characters_and_pairs_and_ascii_gives_lower_case_words() {
        let mut want = ["路", "灯", "不", "亮", "路灯", "灯不", "不亮"].map(String::from);
        want.sort();
        assert_eq!(toks("路灯不亮"), want);
        assert_eq!(toks("LED lamp, 3rd-floor"), ["3rd", "floor", "lamp", "led"]);
        // A word ends where Chinese starts, and is a token with the characters around it too;
        // a pair never spans a gap or a word.
        assert_eq!(toks("12号楼"), ["12", "12号", "号", "号楼", "楼"]);
        assert_eq!(toks("街12"), ["12", "街", "街12"]);
        assert_eq!(toks("井 盖"), ["井", "盖"]);
        assert_eq!(toks("井a盖"), ["a", "a盖", "井", "井a", "盖"]);
        assert_eq!(toks("井 a 盖"), ["a", "井", "盖"]);
        assert!(toks("，。！ ").is_empty());
    }

    #[test]
    fn full_width_forms_read_as_half_width() {
        assert_eq!(toks("ＬＥＤ屏　１２"), toks("led屏 12"));
        assert_eq!(fold("ＡＢＣ１"), "abc1");
    }

    #[test]
    fn only_the_first_two_thousand_characters_are_read() {
        let long = format!("{}井盖 tail", "路".repeat(INDEXED_CHARS));
        assert_eq!(toks(&long), ["路", "路路"]);
        assert!(!TextQuery::new("井盖").matches(&long));
        let word = "x".repeat(100);
        assert_eq!(toks(&word), ["x".repeat(WORD_CHARS)]);
        assert!(TextQuery::new(&word).matches(&format!("see {word}")));
    }

    #[test]
    fn a_query_matches_contained_text_with_its_words_whole() {
        let text = "南池子大街12号门口LED路灯不亮 lamp out";
        for found in [
            "路灯",
            "灯",
            "不亮",
            "led",
            "ＬＥＤ路灯",
            "LAMP",
            "lamp out",
            "12号",
            "门口LED",
        ] {
            assert!(TextQuery::new(found).matches(text), "{found}");
        }
        for missed in ["路口", "lam", "amp", "2号", "街1", "lamp  out", "灯亮"] {
            assert!(!TextQuery::new(missed).matches(text), "{missed}");
        }
        // A query without tokens matches what contains it.
        assert!(TextQuery::new("").matches(text));
        assert!(TextQuery::new("").is_empty() && TextQuery::new(" ，").is_empty());
    }

    #[test]
    fn every_match_has_every_token_of_the_query() {
        let text = "小区门口的井盖缺失，晚上很危险 ABC-12";
        let have = tokens(text);
        for q in ["井盖", "门口的井", "险 abc", "ABC-12", "井"] {
            let query = TextQuery::new(q);
            assert!(query.matches(text), "{q}");
            assert!(query.tokens.iter().all(|t| have.contains(t)), "{q}");
        }
    }

    #[test]
    fn probes_skip_characters_inside_pairs() {
        let q = TextQuery::new("路灯 井 led");
        assert_eq!(q.probes(), ["led", "路灯", "井"]);
        assert_eq!(TextQuery::new("灯").probes(), ["灯"]);
        assert_eq!(
            TextQuery::new("大街12号").probes(),
            ["12号", "街12", "12", "大街"]
        );
    }

    /// "街12" is in "大街123号" as text, but its number is not 12: found by neither the index
    /// nor the check, whichever answers.
    #[test]
    fn a_number_next_to_chinese_is_found_whole() {
        let text = "大街123号 and 12";
        assert!(!TextQuery::new("街12").matches(text));
        assert!(TextQuery::new("街123").matches(text));
        assert!(TextQuery::new("123号").matches(text));
    }
}
