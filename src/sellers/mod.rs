//! The sellers TokenBuddy can route to: read from the user's `sellers.yaml`
//! (never rewritten by us), hot-reloaded, plus in-process demo sellers.

pub mod file;
pub mod price;
pub mod seller;
pub mod store;
pub mod watch;

pub use file::FileError;
pub use price::{cost, PriceSource, Prices};
pub use seller::{normalize_base_url, ModelRoute, Secret, Seller, SellerId};
pub use store::{SellerSet, Sellers};
