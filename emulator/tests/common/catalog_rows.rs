//! Catalog rows as text, for tests that compare whole result sets.

use super::C;

/// Every row of a query, each column as text (NULL as "NULL").
pub async fn rows(c: &mut C, query: &str) -> Vec<Vec<String>> {
    let rows = c
        .simple_query(query)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .into_first_result()
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    r.try_get::<&str, _>(i)
                        .ok()
                        .flatten()
                        .map(str::to_owned)
                        .or_else(|| r.try_get::<i64, _>(i).ok().flatten().map(|v| v.to_string()))
                        .or_else(|| r.try_get::<i32, _>(i).ok().flatten().map(|v| v.to_string()))
                        .or_else(|| r.try_get::<i16, _>(i).ok().flatten().map(|v| v.to_string()))
                        .or_else(|| r.try_get::<u8, _>(i).ok().flatten().map(|v| v.to_string()))
                        .or_else(|| {
                            r.try_get::<bool, _>(i)
                                .ok()
                                .flatten()
                                .map(|v| u8::from(v).to_string())
                        })
                        .unwrap_or_else(|| "NULL".into())
                })
                .collect()
        })
        .collect()
}

pub fn strs(v: &[Vec<String>]) -> Vec<Vec<&str>> {
    v.iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect()
}
