package cards

import (
	"io"
	"strings"
	"testing"
	"time"
)

// BenchmarkRenderSheet renders full print sheets, QR encoding and drawing
// included (signing excluded: QRs are signed once, when a card is queued).
// Target: 300 cards/s on one core.
func BenchmarkRenderSheet(b *testing.B) {
	cards := sampleCards(b, testKey(b), CardsPerSheet)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := RenderSheet(io.Discard, cards); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(cards))/b.Elapsed().Seconds(), "cards/s")
}

// BenchmarkRenderCardPDF renders the single-card PDF.
func BenchmarkRenderCardPDF(b *testing.B) {
	cards := sampleCards(b, testKey(b), 1)
	b.ReportAllocs()
	for b.Loop() {
		if err := RenderCardPDF(io.Discard, cards[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign signs one card's claims.
func BenchmarkSign(b *testing.B) {
	k := testKey(b)
	c := sampleCards(b, k, 1)[0].Claims(testIssuer)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(c, k); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify checks one QR text offline. Target: 10,000/s on one core.
func BenchmarkVerify(b *testing.B) {
	k := testKey(b)
	keys := keySetOf(b, k)
	text := sampleCards(b, k, 1)[0].QR
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := Verify(text, keys, now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// BenchmarkPayloadSize reports the QR payload of a card whose name is 40
// characters: bytes before Base45 (the zlib stream), Base45 characters, and
// the QR version at level Q. Target: version 11 or less.
func BenchmarkPayloadSize(b *testing.B) {
	k := testKey(b)
	c := sampleCards(b, k, 1)[0]
	c.Name = longName(40)
	var text string
	for b.Loop() {
		var err error
		if text, err = Sign(c.Claims(testIssuer), k); err != nil {
			b.Fatal(err)
		}
	}
	q, err := EncodeQR(text)
	if err != nil {
		b.Fatal(err)
	}
	z, _ := base45Decode(text)
	b.ReportMetric(float64(len(z)), "payload-bytes")
	b.ReportMetric(float64(len(text)), "qr-chars")
	b.ReportMetric(float64(q.Version), "qr-version")
}

// longName returns a plausible name of exactly n characters.
func longName(n int) string {
	s := strings.Repeat("Venkata Subramanyam Lakshminarasimha Rao Kondapalli ", 1+n/50)
	s = s[:n]
	if s[n-1] == ' ' {
		s = s[:n-1] + "K"
	}
	return s
}
