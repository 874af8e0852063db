//! Fixed vocabularies: the enums whose values reach the JSON and the tables as words (actions,
//! resource states, events, copy states, DevScan steps). Each word is spelled once, where its
//! value is defined, and tables and JSON both take it from there.

/// Define an enum whose every value is one word: `as_str`, `Display` and `Serialize` all give it.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $word:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $word, )+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(
                &self,
                s: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

pub(crate) use vocabulary;

#[cfg(test)]
mod tests {
    vocabulary! {
        enum Sample {
            One = "one",
            TwoWords = "two-words",
        }
    }

    #[test]
    fn the_table_and_the_json_say_the_same_word() {
        for (value, word) in [(Sample::One, "one"), (Sample::TwoWords, "two-words")] {
            assert_eq!(value.to_string(), word);
            assert_eq!(serde_json::to_value(value).unwrap(), word);
        }
    }
}
