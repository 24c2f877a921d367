//! `jobpulse send-bulk`: creates a bulk send from a CSV of phone numbers through the REST API.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{ApiArgs, CliError, api_error, watch};
use crate::protocol::{SendBulkRequest, SendBulkResponse, default_devices_limit};

/// Column names taken as "the phone column" in a CSV header.
const PHONE_HEADERS: &[&str] = &[
    "phone",
    "phones",
    "phone_number",
    "number",
    "to",
    "recipient",
    "telefono",
    "teléfono",
    "movil",
    "móvil",
];

/// What `send-bulk` needs.
#[derive(Clone, Debug, clap::Args)]
pub struct SendBulkArgs {
    /// The message to send.
    #[arg(long)]
    pub message: String,
    /// A CSV file: the column named "phone" (or the first column), one recipient per row.
    #[arg(long)]
    pub phones: PathBuf,
    /// Sender devices working in parallel (1-50).
    #[arg(long, default_value_t = default_devices_limit())]
    pub devices: u32,
    /// Leave out invalid or duplicate numbers instead of refusing the whole send.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Makes a retried command return the same job instead of sending twice.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Follow the job with a progress bar until it ends.
    #[arg(long)]
    pub watch: bool,
}

/// The phone numbers of a CSV, with the file line of each (for error messages).
pub fn read_phones(text: &str) -> Result<Vec<(usize, String)>, CliError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut column = 0;
    let mut phones = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| CliError::Usage(format!("the CSV is not valid: {e}")))?;
        let line = record.position().map_or(row + 1, |p| p.line() as usize);
        if row == 0
            && let Some(header) = record
                .iter()
                .position(|field| PHONE_HEADERS.contains(&field.to_lowercase().as_str()))
        {
            column = header;
            continue;
        }
        match record.get(column) {
            Some(phone) if !phone.is_empty() => phones.push((line, phone.to_owned())),
            _ => {}
        }
    }
    Ok(phones)
}

/// Creates the send; with `--watch`, follows it. Invalid numbers are listed by CSV line.
pub async fn send_bulk(api: &ApiArgs, args: &SendBulkArgs) -> Result<ExitCode, CliError> {
    let text = std::fs::read_to_string(&args.phones)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", args.phones.display())))?;
    let phones = read_phones(&text)?;
    if phones.is_empty() {
        return Err(CliError::Usage(format!(
            "{} has no phone numbers (a column named \"phone\", or the first column)",
            args.phones.display()
        )));
    }
    let request = SendBulkRequest {
        message: args.message.clone(),
        phones: phones.iter().map(|(_, p)| p.clone()).collect(),
        devices_limit: args.devices,
        idempotency_key: args.idempotency_key.clone(),
        skip_invalid: args.skip_invalid,
        senders: None,
        name: None,
        tags: Vec::new(),
    };
    let response = reqwest::Client::new()
        .post(api.api("/messages/send-bulk"))
        .bearer_auth(&api.token)
        .json(&request)
        .send()
        .await?;
    if response.status().as_u16() == 422 {
        let body: serde_json::Value = response.json().await?;
        eprintln!(
            "{}",
            body["detail"].as_str().unwrap_or("the send was refused")
        );
        for bad in body["invalid"].as_array().into_iter().flatten() {
            let line = bad["index"]
                .as_u64()
                .and_then(|i| phones.get(i as usize))
                .map_or(0, |(line, _)| *line);
            eprintln!(
                "  line {line}: {:?}: {}",
                bad["phone"].as_str().unwrap_or_default(),
                bad["reason"].as_str().unwrap_or_default()
            );
        }
        return Ok(ExitCode::FAILURE);
    }
    if !response.status().is_success() {
        return Err(api_error(response).await);
    }
    let created: SendBulkResponse = response.json().await?;
    println!("{}", created.job.id);
    eprintln!(
        "{} ({} recipients, {} skipped)",
        created.message, created.job.total_numbers, created.job.skipped
    );
    if args.watch {
        watch(api, created.job.id, false).await
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phone_column_is_found_by_name() {
        let phones = read_phones("name,phone\nAna,+34600000001\nLuis, +34600000002\n").unwrap();
        assert_eq!(
            phones,
            [
                (2, "+34600000001".to_owned()),
                (3, "+34600000002".to_owned())
            ]
        );
    }

    #[test]
    fn without_a_header_the_first_column_is_used() {
        let phones = read_phones("+34600000001,Ana\n+34600000002\n\n").unwrap();
        let numbers: Vec<_> = phones.into_iter().map(|(_, p)| p).collect();
        assert_eq!(numbers, ["+34600000001", "+34600000002"]);
    }
}
