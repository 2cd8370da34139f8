//! The three payloads, as JSON text built here (deterministic, no files to ship): numbers
//! are written the way a database or a host language writes them.

/// A 10-key object, one level nested: small integers, strings, floats, a bool and a null.
pub fn small() -> String {
    r#"{"id":42,"name":"addition","ok":true,"ratio":0.75,"count":3,"tags":["a","b"],"price":19.99,"user":{"id":7,"name":"Ada","score":98.5},"attempt":1,"note":null}"#.to_string()
}

/// A typical job: an order with a customer, five line items, an address and metadata.
pub fn job() -> String {
    let items: Vec<String> = (1..=5)
        .map(|i| format!(r#"{{"sku":"SKU-{i:04}","name":"Item number {i}","quantity":{i},"unit_price":{}.{:02},"taxable":{}}}"#, 10 * i, 99 - i, i % 2 == 0))
        .collect();
    format!(
        r#"{{"order_id":"ord_8f3a2c1b9d","customer":{{"id":1234567,"name":"Ada Lovelace","email":"ada@example.com","tier":"gold"}},"items":[{}],"shipping":{{"street":"12 Analytical Row","city":"London","postcode":"NW1 2AB","country":"GB"}},"currency":"EUR","total":163.77,"discount":0.1,"created_at":"2026-11-24T10:15:00Z","metadata":{{"source":"web","campaign":"autumn","retries":0}}}}"#,
        items.join(",")
    )
}

/// About 100 KB: an array of user records, each with integers (one beyond 2^32), floats,
/// strings, a bool and a small array.
pub fn records() -> String {
    let mut records = Vec::new();
    let mut size = 0;
    for i in 0.. {
        if size >= 100_000 {
            break;
        }
        let record = format!(
            r#"{{"id":{i},"name":"user-{i}","email":"user{i}@example.com","active":{},"score":{}.{},"balance":{},"tags":["t{}","t{}"],"created_at":"2026-11-{:02}T08:00:00Z"}}"#,
            i % 3 != 0,
            i % 100,
            i % 7,
            4_000_000_000u64 + i * 17,
            i % 5,
            i % 11,
            1 + i % 28
        );
        size += record.len() + 1;
        records.push(record);
    }
    format!("[{}]", records.join(","))
}
