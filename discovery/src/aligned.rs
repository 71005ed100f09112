//! Tables aligned with spaces, as command-line tools and fixed-width exports print them
//! (`kubectl get`, `docker ps`, `df -h`, mainframe extracts): no delimiter character, and
//! values that may hold single spaces (`2 hours ago`, `Anna Smith`). Such a table is found
//! by its gutters, the character positions blank on every line, and read by cutting each
//! line at the columns' starting positions.

use crate::records::Record;

/// Columns an aligned table may have; wider text is left to the delimiter guess.
pub const MAX_COLUMNS: usize = 64;
/// Lines looked at to find the gutters.
const LINES: usize = 200;
/// Characters per line looked at; longer lines are not a printed table.
const MAX_WIDTH: usize = 4096;

/// Where each column starts, in characters from the start of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    len: u8,
    starts: [u32; MAX_COLUMNS],
}

impl Columns {
    fn new(v: &[u32]) -> Option<Self> {
        if v.len() < 2 || v.len() > MAX_COLUMNS {
            return None;
        }
        let mut starts = [0u32; MAX_COLUMNS];
        starts[..v.len()].copy_from_slice(v);
        Some(Columns {
            len: v.len() as u8,
            starts,
        })
    }

    pub fn starts(&self) -> &[u32] {
        &self.starts[..self.len as usize]
    }

    /// One line cut into its trimmed cells.
    pub fn cut(&self, line: &str) -> Vec<String> {
        let starts = self.starts();
        let mut cells = vec![String::new(); starts.len()];
        let mut k = 0;
        for (p, c) in line.chars().enumerate() {
            while k + 1 < starts.len() && p as u32 >= starts[k + 1] {
                k += 1;
            }
            cells[k].push(c);
        }
        for c in &mut cells {
            let t = c.trim();
            if t.len() != c.len() {
                *c = t.to_string();
            }
        }
        cells
    }
}

/// The columns of `head` when it is a table aligned with spaces.
pub fn detect(head: &str) -> Option<Columns> {
    let lines: Vec<&str> = crate::records::nonblank_lines(head, None)
        .take(LINES)
        .collect();
    if lines.len() < 3 || lines.iter().any(|l| l.contains('\t')) {
        return None;
    }
    let mut blank: Vec<bool> = Vec::new();
    for l in &lines {
        for (p, c) in l.chars().enumerate() {
            if p >= MAX_WIDTH {
                return None;
            }
            if p >= blank.len() {
                blank.resize(p + 1, true);
            }
            if c != ' ' {
                blank[p] = false;
            }
        }
    }
    let mut starts: Vec<u32> = (0..blank.len())
        .filter(|&p| !blank[p] && (p == 0 || blank[p - 1]))
        .map(|p| p as u32)
        .collect();
    // Values with spaces (`Up 3 hours`, `Exited (0) 2 days ago`) can leave a gap blank on
    // every line; the first line (a header, or the first row) fills every real column, so
    // a gap under a blank stretch of it is inside a column.
    let first = Columns::new(&starts).map(|c| c.cut(lines[0]));
    if let Some(first) = first {
        starts = starts
            .iter()
            .zip(&first)
            .enumerate()
            .filter(|(j, (_, cell))| *j == 0 || !cell.is_empty())
            .map(|(_, (s, _))| *s)
            .collect();
    }
    let columns = Columns::new(&starts)?;
    let rows: Vec<Vec<String>> = lines.iter().map(|l| columns.cut(l)).collect();
    let n = columns.starts().len();
    // Every column holds a value on at least half the lines.
    for j in 0..n {
        let filled = rows.iter().filter(|r| !r[j].is_empty()).count();
        if filled * 2 < rows.len() {
            return None;
        }
        // A column of one repeated mark (`|`, `+`) is a drawn delimiter (psql, Markdown).
        if rows.iter().all(|r| r[j] == rows[0][j]) && !rows[0][j].chars().any(char::is_alphanumeric)
        {
            return None;
        }
    }
    // A character found n-1 times on every line separates the columns: a delimited file
    // padded with spaces, read better by its delimiter. So does a usual delimiter found
    // the same number of times on nearly every line (`2024-01-01 10:00:00,INFO,started`
    // has a gap after the date, but its columns are the commas').
    let first = lines[0];
    let mut marks: Vec<char> = first
        .chars()
        .filter(|c| !c.is_alphanumeric() && *c != ' ' && *c != '"')
        .collect();
    marks.sort_unstable();
    marks.dedup();
    let padded = marks
        .iter()
        .any(|&c| lines.iter().all(|l| l.matches(c).count() == n - 1));
    let delimited = USUAL_DELIMITERS.iter().any(|&c| steady(&lines, c));
    (!padded && !delimited).then_some(columns)
}

/// Delimiters a table is far more often split by than aligned with.
const USUAL_DELIMITERS: &[char] = &[',', ';', '|', '\x01', '\x1C', '\x1D', '\x1F'];

/// `c` occurs on nine lines in ten, the same number of times.
fn steady(lines: &[&str], c: char) -> bool {
    let counts: Vec<usize> = lines.iter().map(|l| l.matches(c).count()).collect();
    let mut freq: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for &k in counts.iter().filter(|&&k| k > 0) {
        *freq.entry(k).or_default() += 1;
    }
    freq.values().any(|&n| n * 10 >= lines.len() * 9)
}

/// Records of an aligned table: one per line, cut at the columns.
pub fn parse(text: &str, columns: &Columns, max: usize, truncated: bool) -> Vec<Record> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut line = 0u32;
    while !rest.is_empty() && out.len() < max {
        let (this, next, ended) = match rest.find(['\n', '\r']) {
            Some(i) => {
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                (&rest[..i], &rest[i + skip..], true)
            }
            None => (rest, "", false),
        };
        if !ended && truncated {
            break;
        }
        let fields = if this.trim().is_empty() {
            vec![String::new()]
        } else {
            columns.cut(this)
        };
        out.push(Record {
            fields,
            line,
            quoted: false,
            stray: 0,
            wide: false,
        });
        line += 1;
        rest = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gutters_make_columns() {
        let t = "NAME      READY   AGE\nweb-1     1/1     3d\napi-22    0/1     12h\n";
        let c = detect(t).unwrap();
        assert_eq!(c.starts(), &[0, 10, 18]);
        assert_eq!(c.cut("api-22    0/1     12h"), vec!["api-22", "0/1", "12h"]);
        // right-aligned numbers and values with single spaces
        let t = "ID NAME        AMOUNT\n 7 Anna Smith    1.50\n12 Bo Li       22.00\n";
        let c = detect(t).unwrap();
        assert_eq!(
            c.cut(" 7 Anna Smith    1.50"),
            vec!["7", "Anna Smith", "1.50"]
        );
    }

    #[test]
    fn drawn_and_padded_delimiters_are_not_alignment() {
        assert!(detect(" id | name\n----+------\n  1 | ann\n  2 | bob\n").is_none());
        assert!(detect("a, b, c\n1, 2, 3\n4, 5, 6\n").is_none());
        assert!(detect("a,b\n1,2\n3,4\n").is_none());
        // a gap after a timestamp, but commas between the columns
        let log = "2024-01-01 10:00:00,INFO,started\n2024-01-01 10:00:01,WARN,disk low\n2024-01-01 10:00:02,INFO,ok\n";
        assert!(detect(log).is_none());
    }
}
