//! Phone numbers: parsed and normalised to E.164 with the `phonenumber` crate.

use std::collections::HashMap;

use phonenumber::Mode;
use phonenumber::country::Id as Country;

use crate::protocol::InvalidPhone;
use crate::protocol::problem::PhoneIssue;

/// The outcome of checking a list of numbers.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Checked {
    /// Valid numbers in E.164, first occurrence kept, in input order.
    pub valid: Vec<String>,
    /// The entry each valid number came from.
    pub indexes: Vec<usize>,
    /// Entries that are not valid numbers or repeat an earlier one.
    pub invalid: Vec<InvalidPhone>,
}

/// Parses every entry; numbers without `+country` use `default_region` if one is set.
pub fn check<S: AsRef<str>>(phones: &[S], default_region: Option<Country>) -> Checked {
    let mut checked = Checked {
        valid: Vec::with_capacity(phones.len()),
        indexes: Vec::with_capacity(phones.len()),
        invalid: Vec::new(),
    };
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(phones.len());
    for (index, raw) in phones.iter().enumerate() {
        let raw = raw.as_ref();
        let reject = |issue: PhoneIssue| InvalidPhone {
            index,
            phone: raw.to_owned(),
            reason: (crate::i18n::EN.phone_issue)(&issue),
            issue,
        };
        match normalise(raw, default_region) {
            Err(issue) => checked.invalid.push(reject(issue)),
            Ok(e164) => match seen.get(&e164) {
                Some(first) => checked.invalid.push(reject(PhoneIssue::Duplicate {
                    entry: first + 1,
                    e164,
                })),
                None => {
                    seen.insert(e164.clone(), index);
                    checked.valid.push(e164);
                    checked.indexes.push(index);
                }
            },
        }
    }
    checked
}

/// One number in E.164, or why it is not one.
pub fn normalise(raw: &str, default_region: Option<Country>) -> Result<String, PhoneIssue> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(PhoneIssue::Empty);
    }
    if !trimmed.chars().any(|c| c.is_ascii_digit()) {
        return Err(PhoneIssue::NotANumber);
    }
    if !trimmed.starts_with('+') && !trimmed.starts_with("00") && default_region.is_none() {
        return Err(PhoneIssue::NeedsCountryCode);
    }
    let number = phonenumber::parse(default_region, trimmed).map_err(|_| PhoneIssue::NotANumber)?;
    if !phonenumber::is_valid(&number) {
        return Err(PhoneIssue::NotValidForCountry);
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised_to_e164() {
        assert_eq!(normalise("+34 600 000 001", None).unwrap(), "+34600000001");
        assert_eq!(
            normalise("600 000 001", Some(Country::ES)).unwrap(),
            "+34600000001"
        );
        assert_eq!(
            normalise("+1 (202) 555-0143", None).unwrap(),
            "+12025550143"
        );
    }

    #[test]
    fn bad_entries_say_why() {
        assert_eq!(
            normalise("600000001", None).unwrap_err(),
            PhoneIssue::NeedsCountryCode
        );
        assert_eq!(normalise("abc", None).unwrap_err(), PhoneIssue::NotANumber);
        assert_eq!(
            normalise("+34 123", None).unwrap_err(),
            PhoneIssue::NotValidForCountry
        );
    }

    #[test]
    fn duplicates_point_at_the_first_entry() {
        let checked = check(&["+34600000001", "+34 600 000 001", "x"], None);
        assert_eq!(checked.valid, ["+34600000001"]);
        assert_eq!(checked.invalid.len(), 2);
        assert_eq!(checked.invalid[0].index, 1);
        assert!(checked.invalid[0].reason.contains("entry 1"));
        assert_eq!(checked.invalid[1].index, 2);
    }
}
