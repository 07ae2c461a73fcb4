// Package cards is the pure core of health IDs and e-health cards: no
// database, no HTTP. The server's store, CLI and API call it.
//
//   - HealthID: 13 random digits (the first not 0) and a Verhoeff check
//     digit, shown XX-XXXX-XXXX-XXXX (DESIGN.md §6). NewHealthID draws one;
//     uniqueness and "never reused" are the store's unique index.
//   - Claims, Sign, Verify: the QR payload of DESIGN.md §8, a CWT with
//     MOSIP's Claim 169 signed as COSE_Sign1 (EdDSA, Ed25519), zlib, Base45.
//     Verify needs only the published keys (KeySet) and says why a card is
//     not valid with a stable Reason.
//   - KeyRing: the signing keys in a directory of their own (never in the
//     database), rotation, retirement and the public document served at
//     /.well-known/health-card-keys; ParseKeySet reads that document back.
//   - EncodeQR, DecodeImage: the QR at level Q in alphanumeric mode, and a
//     pure-Go reader (gozxing) for `syncserver verify --image`.
//   - Card, RenderCardPDF, RenderSheet: CR80 cards as PDF, one card or A4
//     duplex print sheets of 10, with the QR drawn as vector squares of a
//     whole number of printer dots.
//
// Every text printed on a card must be in the Windows-1252 character set of
// the PDF core fonts; CheckPrintable says which character is not, so that
// no card is printed with wrong glyphs.
package cards
