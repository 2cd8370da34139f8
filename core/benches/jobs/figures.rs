//! The figures of a run: each measure's value in every round, printed as it comes and
//! summarised at the end as the median with the range, which is what bench/README.md quotes.

/// Every measure, in the order first taken.
#[derive(Default)]
pub struct Figures {
    rows: Vec<Row>,
}

struct Row {
    name: String,
    unit: &'static str,
    values: Vec<f64>,
}

impl Figures {
    /// Records one round's value of a measure, and prints it.
    pub fn add(&mut self, name: &str, unit: &'static str, value: f64) {
        println!("  {name:<58} {} {unit}", shown(value));
        match self.rows.iter_mut().find(|row| row.name == name) {
            Some(row) => row.values.push(value),
            None => self.rows.push(Row { name: name.to_owned(), unit, values: vec![value] }),
        }
    }

    /// Records `measure` and the ratio of it to `floor`, both per second.
    pub fn add_beside_floor(&mut self, name: &str, measure: f64, floor: f64) {
        self.add(name, "/s", measure);
        self.add(&format!("{name}: floor"), "/s", floor);
        self.add(&format!("{name}: ratio to the floor"), "×", measure / floor);
    }

    /// The median of every measure, its range, and how many rounds it has.
    pub fn print_summary(&self) {
        println!("\nSummary: median [min–max] over the rounds");
        for row in &self.rows {
            let mut values = row.values.clone();
            values.sort_by(f64::total_cmp);
            let (low, high) = (values[0], values[values.len() - 1]);
            println!(
                "  {:<58} {} {} [{}–{}] ({} runs)",
                row.name,
                shown(median(&values)),
                row.unit,
                shown(low),
                shown(high),
                values.len()
            );
        }
    }
}

/// The middle value of sorted values (the mean of the two middle ones for an even count).
fn median(sorted: &[f64]) -> f64 {
    let middle = sorted.len() / 2;
    match sorted.len() % 2 {
        1 => sorted[middle],
        _ => (sorted[middle - 1] + sorted[middle]) / 2.0,
    }
}

/// The value below which a fraction `q` of the samples fall (nearest rank).
pub fn percentile(samples: &[f64], q: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Rates with thousands separators, small values (ratios, milliseconds) with two decimals;
/// no figure here is negative.
fn shown(value: f64) -> String {
    if value.abs() >= 100.0 {
        let digits = format!("{:.0}", value);
        let mut grouped = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        grouped
    } else {
        format!("{value:.2}")
    }
}
