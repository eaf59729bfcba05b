//! A plain text table: a header row, a rule, aligned columns (numbers right-aligned).

/// A plain text table: a header row, aligned columns (numbers right-aligned).
pub(crate) struct Table {
    head: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(head: Vec<&'static str>) -> Self {
        Self {
            head,
            rows: Vec::new(),
        }
    }
    pub(crate) fn row(&mut self, r: Vec<String>) {
        self.rows.push(r);
    }
    pub(crate) fn render(&self, out: &mut String) {
        let n = self.head.len();
        let mut w: Vec<usize> = self.head.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let numeric = |s: &str| {
            s.chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == '£' || (c == '-' && s.len() > 1))
        };
        let line = |cells: Vec<&str>, out: &mut String| {
            let mut l = String::new();
            for (i, c) in cells.iter().enumerate() {
                let pad = w[i] - c.chars().count();
                if i > 0 {
                    l.push_str("  ");
                }
                if i > 0 && numeric(c) {
                    l.push_str(&" ".repeat(pad));
                    l.push_str(c);
                } else {
                    l.push_str(c);
                    l.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(l.trim_end());
            out.push('\n');
        };
        line(self.head.clone(), out);
        line(
            w.iter()
                .map(|n| "-".repeat(*n))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect(),
            out,
        );
        for r in &self.rows {
            line(r.iter().map(String::as_str).collect(), out);
        }
    }
}
