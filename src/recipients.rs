//! Splitting a pasted list of recipients into entries, shared by the form (live count) and the server.

/// One entry of a pasted list, with the line it came from (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    pub text: String,
}

/// Splits on new lines, commas and semicolons; blank entries are ignored.
pub fn split(text: &str) -> Vec<Entry> {
    text.lines()
        .enumerate()
        .flat_map(|(i, line)| {
            line.split([',', ';'])
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .map(move |entry| Entry {
                    line: i + 1,
                    text: entry.to_owned(),
                })
        })
        .collect()
}

/// How many entries `split` would return, without allocating them.
pub fn count(text: &str) -> usize {
    text.lines()
        .flat_map(|line| line.split([',', ';']))
        .filter(|entry| !entry.trim().is_empty())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_commas_both_separate() {
        let entries = split("+34600000001\n\n +34600000002, +34600000003;+34600000004 \n");
        let lines: Vec<usize> = entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 3, 3, 3]);
        assert_eq!(entries[3].text, "+34600000004");
        assert_eq!(count("a\n\nb, c;d\n"), 4);
    }
}
