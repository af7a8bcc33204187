//! The sellers TokenBuddy can route to: read from the user's `sellers.yaml`
//! (written only when the user asks, in place: `edit.rs`), hot-reloaded,
//! plus in-process demo sellers; keys typed in are kept in `secrets.rs`.

pub mod edit;
pub mod file;
pub mod price;
pub mod secrets;
pub mod seller;
pub mod spec;
pub mod store;
pub mod watch;
pub mod write;

pub use file::FileError;
pub use price::{cost, PriceSource, Prices};
pub use seller::{normalize_base_url, ModelRoute, Secret, Seller, SellerId};
pub use store::{SellerSet, Sellers};
