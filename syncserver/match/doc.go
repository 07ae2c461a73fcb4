// Package match decides which enrolments are the same human.
//
// It is pure: no storage, no HTTP. The server's store keeps what this
// package asks it to keep (blocking keys, term counts, persons) and calls
// the same functions the in-memory Matcher calls, so the Matcher is both the
// evaluation harness and the reference for the store's integration.
//
// The pipeline for one new resident:
//
//  1. NewFeatures normalises the resident once: names folded for Indian
//     transliteration variants (NormalizeName, NameTokens, FoldToken,
//     PhoneticKey), dates, phone, documents, address.
//  2. LookupKeys gives the blocking keys to look up; every key is an index
//     lookup capped at a fixed number of residents, so finding candidates
//     costs the same against ten thousand residents or ten million.
//     BlockingKeys gives the keys to store for the resident afterwards.
//  3. Model.Score compares the new resident with each candidate field by
//     field (Fellegi–Sunter: a comparison level per field, a log2 Bayes
//     factor per level, term-frequency adjustment from the Frequencies the
//     store counts with FrequencyKeys, household evidence as an explicit
//     input) and returns the evidence the supervisor's review screen shows.
//  4. Model.Decide turns the best candidate into a link, a review task or a
//     new person, after the hard rules: never auto-link two residents of the
//     same household, residents whose birth years differ by more than their
//     precision allows, or residents of different sex (the last two unless
//     Aadhaar or a personal document number agrees). In MatchGroup a best
//     candidate whose name does not pick out one person (an initial)
//     competes with the other persons among the candidates (R. Singh of a
//     family with twins Rahul and Rohit is neither).
//
// Model.MatchGroup runs steps 2 to 4 for a household's members together,
// over a Registry: the store's tables, or the in-memory Index and
// FrequencyTable of the Matcher.
//
// Train estimates the model from the data by expectation maximisation, as
// Splink does; Evaluate runs matching over labelled data and reports
// pairwise precision, recall and F1.
package match
