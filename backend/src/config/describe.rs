//! The one description of a configuration section: each setting written once, with its doc
//! comment, type and default. [`section!`] turns it into the struct (doc comments kept, serde
//! attributes passed through), its `Default`, and `KEYS`, the `(key, doc text)` list that
//! `--help` prints, so the help cannot drift from the code.

/// Defines a configuration section; see the module documentation. Each field is written
/// `/// doc…` (at least one line), optional `#[serde(…)]`, then `pub name: Type = default,`.
macro_rules! section {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $(#[serde($($serde:tt)*)])?
                pub $field:ident: $ty:ty = $default:expr,
            )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[doc = $doc])+
                $(#[serde($($serde)*)])?
                pub $field: $ty,
            )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    $($field: $default,)*
                }
            }
        }

        impl $name {
            /// Every key of this section with its doc comment (for `--help`).
            pub const KEYS: &'static [(&'static str, &'static str)] =
                &[$((stringify!($field), concat!($($doc),+)),)*];
        }
    };
}

pub(crate) use section;
