//! The demo shop database: customers, products, orders and order items, generated
//! deterministically into a SQLite file the demo's `shop-db` connection points at.

use std::path::Path;

use anyhow::Context;
use sqlx::{AnyConnection, AssertSqlSafe, Connection};

use super::rng::Rng;

pub struct Customer {
    pub id: i64,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub email: String,
    pub country: &'static str,
    pub city: &'static str,
    pub created_at: String,
    pub is_vip: bool,
}

pub struct Product {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub category: &'static str,
    pub unit_price_cents: i64,
}

pub struct Order {
    pub id: i64,
    pub customer_id: i64,
    pub ordered_at: String,
    pub status: &'static str,
    pub total_cents: i64,
}

pub struct OrderItem {
    pub id: i64,
    pub order_id: i64,
    pub product_id: i64,
    pub quantity: i64,
    pub unit_price_cents: i64,
}

pub struct Shop {
    pub customers: Vec<Customer>,
    pub products: Vec<Product>,
    pub orders: Vec<Order>,
    pub items: Vec<OrderItem>,
}

const FIRST: &[&str] = &[
    "Ada",
    "Grace",
    "Linus",
    "Margaret",
    "Alan",
    "Barbara",
    "Edsger",
    "Frances",
    "Ken",
    "Radia",
    "Tim",
    "Katherine",
    "José",
    "Zoë",
    "Søren",
    "Małgorzata",
    "Yuki",
    "Amara",
    "Chidi",
    "Ana",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Turing",
    "Liskov",
    "Dijkstra",
    "Allen",
    "Thompson",
    "Perlman",
    "Berners-Lee",
    "Johnson",
    "García",
    "O'Brien",
    "Müller",
    "Nowak",
    "Tanaka",
    "Okafor",
    "Silva",
    "Dubois",
];
const PLACES: &[(&str, &str)] = &[
    ("US", "New York"),
    ("US", "Austin"),
    ("DE", "Berlin"),
    ("FR", "Paris"),
    ("BR", "São Paulo"),
    ("JP", "Tokyo"),
    ("PL", "Kraków"),
    ("NG", "Lagos"),
    ("GB", "London"),
    ("ES", "Sevilla"),
];
const CATEGORIES: &[(&str, &[&str])] = &[
    (
        "Books",
        &["Field Guide", "Cookbook", "Atlas", "Novel", "Handbook"],
    ),
    (
        "Kitchen",
        &["Kettle", "Chef Knife", "Cast-Iron Pan", "Grinder", "Teapot"],
    ),
    (
        "Outdoor",
        &[
            "Tent",
            "Headlamp",
            "Rain Jacket",
            "Trail Map",
            "Water Filter",
        ],
    ),
    (
        "Office",
        &[
            "Notebook",
            "Fountain Pen",
            "Desk Lamp",
            "Stapler",
            "Monitor Arm",
        ],
    ),
];
const ADJ: &[&str] = &[
    "Classic", "Compact", "Deluxe", "Everyday", "Heritage", "Pro",
];
const STATUSES: &[&str] = &[
    "delivered",
    "delivered",
    "delivered",
    "shipped",
    "paid",
    "cancelled",
    "refunded",
];

fn iso_day_time(day: i64, secs: i64) -> String {
    // 2025-01-01T00:00:00Z plus `day` days and `secs` seconds.
    let base =
        chrono::DateTime::<chrono::Utc>::from_timestamp(1_735_689_600 + day * 86_400 + secs, 0)
            .unwrap_or_default();
    base.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn build() -> Shop {
    let mut r = Rng::new(20_251_124);
    let customers: Vec<Customer> = (1..=1500)
        .map(|id| {
            let first = *r.pick(FIRST);
            let last = *r.pick(LAST);
            let (country, city) = *r.pick(PLACES);
            let handle: String = format!("{first}.{last}")
                .chars()
                .filter(|c| c.is_ascii_alphabetic() || *c == '.')
                .collect();
            Customer {
                id,
                first_name: first,
                last_name: last,
                email: format!("{}{id}@example.com", handle.to_lowercase()),
                country,
                city,
                created_at: iso_day_time(r.below(365) as i64, r.below(86_400) as i64),
                is_vip: r.below(10) == 0,
            }
        })
        .collect();
    let mut products = Vec::new();
    for (ci, (category, kinds)) in CATEGORIES.iter().enumerate() {
        for (ki, kind) in kinds.iter().enumerate() {
            for (ai, adj) in ADJ.iter().enumerate() {
                let id = products.len() as i64 + 1;
                products.push(Product {
                    id,
                    sku: format!(
                        "{}-{:02}{:02}",
                        &category[..3].to_uppercase(),
                        ki + 1,
                        ai + 1 + ci * 10
                    ),
                    name: format!("{adj} {kind}"),
                    category,
                    unit_price_cents: 299 + r.below(19_700) as i64,
                });
            }
        }
    }
    let mut orders = Vec::new();
    let mut items = Vec::new();
    for id in 1..=6000 {
        let customer_id = 1 + r.below(customers.len() as u64) as i64;
        let mut total = 0;
        for _ in 0..(1 + r.below(4)) {
            let p = &products[r.below(products.len() as u64) as usize];
            let quantity = 1 + r.below(3) as i64;
            total += quantity * p.unit_price_cents;
            items.push(OrderItem {
                id: items.len() as i64 + 1,
                order_id: id,
                product_id: p.id,
                quantity,
                unit_price_cents: p.unit_price_cents,
            });
        }
        orders.push(Order {
            id,
            customer_id,
            ordered_at: iso_day_time(365 + r.below(300) as i64, r.below(86_400) as i64),
            status: STATUSES[r.below(STATUSES.len() as u64) as usize],
            total_cents: total,
        });
    }
    Shop {
        customers,
        products,
        orders,
        items,
    }
}

pub fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Writes the shop into a new SQLite file at `path` and returns what it wrote.
/// An empty SQLite database at `path` (the demo's packages write into it).
pub async fn create_empty(path: &Path) -> anyhow::Result<()> {
    let conn = AnyConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .with_context(|| format!("cannot create {}", path.display()))?;
    conn.close().await?;
    Ok(())
}

pub async fn generate(path: &Path) -> anyhow::Result<Shop> {
    let shop = build();
    if path.exists() {
        std::fs::remove_file(path).with_context(|| format!("cannot replace {}", path.display()))?;
    }
    let mut conn = AnyConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .with_context(|| format!("cannot create {}", path.display()))?;
    let mut tx = conn.begin().await?;
    sqlx::raw_sql(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, \
             country TEXT NOT NULL, city TEXT NOT NULL, created_at TIMESTAMP NOT NULL, is_vip BOOLEAN NOT NULL);
         CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, name TEXT NOT NULL, category TEXT NOT NULL, unit_price DECIMAL(10,2) NOT NULL);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), ordered_at TIMESTAMP NOT NULL, \
             status TEXT NOT NULL, total DECIMAL(12,2) NOT NULL);
         CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id), product_id INTEGER NOT NULL REFERENCES products(id), \
             quantity INTEGER NOT NULL, unit_price DECIMAL(10,2) NOT NULL);
         CREATE INDEX orders_customer ON orders(customer_id);
         CREATE INDEX order_items_order ON order_items(order_id);",
    )
    .execute(&mut *tx)
    .await?;
    // Generated values only (no outside input), written as multi-row literals for speed.
    for chunk in shop.customers.chunks(500) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|c| {
                format!(
                    "({}, {}, {}, {}, {}, {}, {}, {})",
                    c.id,
                    sql_text(c.first_name),
                    sql_text(c.last_name),
                    sql_text(&c.email),
                    sql_text(c.country),
                    sql_text(c.city),
                    sql_text(&c.created_at),
                    i64::from(c.is_vip)
                )
            })
            .collect();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "INSERT INTO customers VALUES {}",
            rows.join(",")
        )))
        .execute(&mut *tx)
        .await?;
    }
    let rows: Vec<String> = shop
        .products
        .iter()
        .map(|p| {
            format!(
                "({}, {}, {}, {}, {})",
                p.id,
                sql_text(&p.sku),
                sql_text(&p.name),
                sql_text(p.category),
                money(p.unit_price_cents)
            )
        })
        .collect();
    sqlx::raw_sql(AssertSqlSafe(format!(
        "INSERT INTO products VALUES {}",
        rows.join(",")
    )))
    .execute(&mut *tx)
    .await?;
    for chunk in shop.orders.chunks(1000) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|o| {
                format!(
                    "({}, {}, {}, {}, {})",
                    o.id,
                    o.customer_id,
                    sql_text(&o.ordered_at),
                    sql_text(o.status),
                    money(o.total_cents)
                )
            })
            .collect();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "INSERT INTO orders VALUES {}",
            rows.join(",")
        )))
        .execute(&mut *tx)
        .await?;
    }
    for chunk in shop.items.chunks(1000) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|i| {
                format!(
                    "({}, {}, {}, {}, {})",
                    i.id,
                    i.order_id,
                    i.product_id,
                    i.quantity,
                    money(i.unit_price_cents)
                )
            })
            .collect();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "INSERT INTO order_items VALUES {}",
            rows.join(",")
        )))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    conn.close().await?;
    Ok(shop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shop_is_deterministic_and_totals_add_up() {
        let a = build();
        let b = build();
        assert_eq!(a.customers.len(), 1500);
        assert_eq!(a.orders.len(), 6000);
        assert!(a.items.len() > 9000, "{}", a.items.len());
        assert_eq!(a.customers[42].email, b.customers[42].email);
        assert_eq!(a.orders[99].ordered_at, b.orders[99].ordered_at);
        let o = &a.orders[7];
        let sum: i64 = a
            .items
            .iter()
            .filter(|i| i.order_id == o.id)
            .map(|i| i.quantity * i.unit_price_cents)
            .sum();
        assert_eq!(sum, o.total_cents);
    }
}
