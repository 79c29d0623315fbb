//! The sandbox crate's one error type: what can go wrong when starting or driving a sandbox.

/// Errors of the sandbox's Rust API and control API. Protocol errors (bad signature, expired
/// token, …) are not errors here: they are answers the sandbox gives in the marketplace's envelope.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("could not bind the sandbox listener: {0}")]
    Bind(#[source] std::io::Error),
    #[error("I/O error: {0}")]
    Io(#[source] std::io::Error),
    #[error("unknown marketplace {0:?} (expected shopee, tiktok or lazada)")]
    UnknownMarketplace(String),
    #[error("the credentials are for {credentials} but the sandbox plays {wanted}")]
    CredentialsMismatch {
        credentials: &'static str,
        wanted: &'static str,
    },
    #[error("shop {0} not found")]
    ShopNotFound(u64),
    #[error("order {0} not found")]
    OrderNotFound(String),
    #[error("SKU {0:?} not found in this shop")]
    SkuNotFound(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("not enough stock for {sku:?}: the listing shows {shown}, {wanted} wanted")]
    OutOfStock {
        sku: String,
        shown: i64,
        wanted: i64,
    },
    #[error("order {order} cannot {action} from status {status}")]
    BadTransition {
        order: String,
        action: String,
        status: String,
    },
    #[error("the webhook client could not be built: {0}")]
    Http(#[source] reqwest::Error),
}

impl SandboxError {
    /// The HTTP status the control API answers with for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            SandboxError::ShopNotFound(_)
            | SandboxError::OrderNotFound(_)
            | SandboxError::SkuNotFound(_) => 404,
            SandboxError::Invalid(_)
            | SandboxError::UnknownMarketplace(_)
            | SandboxError::CredentialsMismatch { .. } => 400,
            SandboxError::OutOfStock { .. } | SandboxError::BadTransition { .. } => 409,
            SandboxError::Bind(_) | SandboxError::Io(_) | SandboxError::Http(_) => 500,
        }
    }

    /// A stable machine-readable code for the control API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            SandboxError::Bind(_) => "bind",
            SandboxError::Io(_) => "io",
            SandboxError::UnknownMarketplace(_) => "unknown_marketplace",
            SandboxError::CredentialsMismatch { .. } => "credentials_mismatch",
            SandboxError::ShopNotFound(_) => "shop_not_found",
            SandboxError::OrderNotFound(_) => "order_not_found",
            SandboxError::SkuNotFound(_) => "sku_not_found",
            SandboxError::Invalid(_) => "invalid",
            SandboxError::OutOfStock { .. } => "out_of_stock",
            SandboxError::BadTransition { .. } => "bad_transition",
            SandboxError::Http(_) => "http",
        }
    }
}
