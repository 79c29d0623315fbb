//! The one CSV writer of every export: quoting by the `csv` crate, and
//! formula neutralisation of text cells.
//!
//! Spreadsheets run a cell that begins with `=`, `+`, `-` or `@` (and, in
//! some, a tab or carriage return before one) as a formula, so a product
//! named `=HYPERLINK("http://evil.test","click")` would become a live link
//! in the seller's spreadsheet. Such text cells are written with a single
//! quote in front (`'=HYPERLINK(…)`), which spreadsheets show as text and
//! hide; numbers we write ourselves are never prefixed, so a negative
//! available count stays a number.

use super::UiError;

/// One cell of a row.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    /// Text from the database (names, SKUs, codes): neutralised.
    Text(&'a str),
    /// A number we format ourselves.
    Int(i64),
}

/// Builds a CSV document in memory.
#[derive(Debug)]
pub struct CsvOut {
    writer: ::csv::Writer<Vec<u8>>,
}

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `text` as a spreadsheet will show it, never run it.
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(FORMULA_START) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

impl CsvOut {
    /// A document starting with the header row `columns`.
    pub fn new(columns: &[&str]) -> Result<CsvOut, UiError> {
        let mut out = CsvOut {
            writer: ::csv::WriterBuilder::new()
                .terminator(::csv::Terminator::Any(b'\n'))
                .from_writer(Vec::new()),
        };
        out.row(&columns.iter().map(|c| Cell::Text(c)).collect::<Vec<_>>())?;
        Ok(out)
    }

    pub fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), UiError> {
        let fields = cells.iter().map(|c| match c {
            Cell::Text(t) => neutralise(t).into_owned(),
            Cell::Int(n) => n.to_string(),
        });
        self.writer
            .write_record(fields)
            .map_err(|e| UiError::Internal(format!("CSV: {e}")))
    }

    pub fn finish(self) -> Result<String, UiError> {
        let bytes = self
            .writer
            .into_inner()
            .map_err(|e| UiError::Internal(format!("CSV: {e}")))?;
        String::from_utf8(bytes).map_err(|e| UiError::Internal(format!("CSV: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_quoting_is_right() {
        let mut out = CsvOut::new(&["sku", "product", "available"]).unwrap();
        out.row(&[
            Cell::Text("=1+2"),
            Cell::Text(r#"=HYPERLINK("http://evil.test","click")"#),
            Cell::Int(-3),
        ])
        .unwrap();
        out.row(&[Cell::Text("+x"), Cell::Text("@SUM(A1)"), Cell::Int(7)])
            .unwrap();
        out.row(&[Cell::Text("-1"), Cell::Text("\tTab"), Cell::Int(0)])
            .unwrap();
        out.row(&[Cell::Text("\r=x"), Cell::Text("a,b \"c\"\nd"), Cell::Int(1)])
            .unwrap();
        let text = out.finish().unwrap();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        assert_eq!(lines[0], "sku,product,available\n");
        assert_eq!(
            lines[1],
            "'=1+2,\"'=HYPERLINK(\"\"http://evil.test\"\",\"\"click\"\")\",-3\n"
        );
        assert_eq!(lines[2], "'+x,'@SUM(A1),7\n");
        assert_eq!(lines[3], "'-1,'\tTab,0\n");
        assert!(
            text.ends_with("\"'\r=x\",\"a,b \"\"c\"\"\nd\",1\n"),
            "{text:?}"
        );
    }
}
