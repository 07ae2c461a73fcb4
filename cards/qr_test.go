package cards

import (
	"bytes"
	"image"
	"image/png"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	zxingqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// alnumVersion returns the smallest QR version that holds n characters in a
// single alphanumeric segment at level Q, from gozxing's version tables, and
// byteVersion the same in byte mode: what go-qrcode's choice is checked
// against.
func minVersion(t *testing.T, bits func(v int) int) int {
	for v := 1; v <= 40; v++ {
		ver, err := decoder.Version_GetVersionForNumber(v)
		if err != nil {
			t.Fatal(err)
		}
		data := ver.GetTotalCodewords() - ver.GetECBlocksForLevel(decoder.ErrorCorrectionLevel_Q).GetTotalECCodewords()
		if bits(v) <= 8*data {
			return v
		}
	}
	return 41
}

func countBits(v, small, medium, large int) int {
	switch {
	case v <= 9:
		return small
	case v <= 26:
		return medium
	}
	return large
}

func TestEncodeQRLevelQAlphanumeric(t *testing.T) {
	k := testKey(t)
	for _, n := range []int{9, 20, 40, 60, 100} {
		c := sampleClaims(t)
		c.Name = longName(n)
		text, err := Sign(c, k)
		if err != nil {
			t.Fatal(err)
		}
		q, err := EncodeQR(text)
		if err != nil {
			t.Fatal(err)
		}
		l := len(text)
		alnum := minVersion(t, func(v int) int { return 4 + countBits(v, 9, 11, 13) + 11*(l/2) + 6*(l%2) })
		byteMode := minVersion(t, func(v int) int { return 4 + countBits(v, 8, 16, 16) + 8*l })
		if q.Version > alnum || q.Size != 17+4*q.Version {
			t.Errorf("name %d: version %d (size %d), but %d characters fit version %d in alphanumeric mode", n, q.Version, q.Size, l, alnum)
		}

		// Read it back with gozxing and look at how it was encoded.
		bmp, _ := gozxing.NewBinaryBitmapFromImage(q.Image(4))
		res, err := zxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
		if err != nil {
			t.Fatalf("gozxing cannot read the code: %v", err)
		}
		meta := res.GetResultMetadata()
		if res.GetText() != text || meta[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL] != "Q" {
			t.Errorf("name %d: decoded level %v, text equal %v", n, meta[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL], res.GetText() == text)
		}
		if _, hasBytes := meta[gozxing.ResultMetadataType_BYTE_SEGMENTS]; hasBytes {
			t.Errorf("name %d: the code has a byte-mode segment", n)
		}
		if _, _, err := Verify(res.GetText(), keySetOf(t, k), time.Now()); err != nil {
			t.Errorf("name %d: %v", n, err)
		}
		t.Logf("name of %3d chars: %3d payload bytes, %3d QR characters, version %2d (alphanumeric needs %d, byte mode %d)",
			n, len(mustBase45(t, text)), l, q.Version, alnum, byteMode)
	}
}

// TestQRRects checks that the merged rectangles cover exactly the dark
// modules, each once.
func TestQRRects(t *testing.T) {
	q, err := EncodeQR(sampleCards(t, testKey(t), 1)[0].QR)
	if err != nil {
		t.Fatal(err)
	}
	covered := make([][]int, q.Size)
	for i := range covered {
		covered[i] = make([]int, q.Size)
	}
	rects := q.rects()
	for _, r := range rects {
		for y := r[1]; y < r[1]+r[3]; y++ {
			for x := r[0]; x < r[0]+r[2]; x++ {
				covered[y][x]++
			}
		}
	}
	dark := 0
	for y := 0; y < q.Size; y++ {
		for x := 0; x < q.Size; x++ {
			want := 0
			if q.Dark(x, y) {
				want = 1
				dark++
			}
			if covered[y][x] != want {
				t.Fatalf("module (%d,%d) covered %d times, dark %v", x, y, covered[y][x], q.Dark(x, y))
			}
		}
	}
	t.Logf("version %d: %d dark modules drawn as %d rectangles", q.Version, dark, len(rects))
}

// TestDecodeImage is the pure-Go path: the module matrix drawn as PNG,
// decoded with gozxing, verified.
func TestDecodeImage(t *testing.T) {
	k := testKey(t)
	card := sampleCards(t, k, 3)[2]
	q, err := EncodeQR(card.QR)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := q.WritePNG(&buf, 3); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if w := img.Bounds().Dx(); w != 3*(q.Size+2*QuietZone) {
		t.Errorf("image %d px wide, want %d", w, 3*(q.Size+2*QuietZone))
	}
	text, err := DecodeImage(img)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := Verify(text, keySetOf(t, k), time.Now())
	if err != nil || c != card.Claims(testIssuer) {
		t.Fatalf("decoded card: %+v, %v", c, err)
	}
	texts, err := DecodeImageAll(img)
	if err != nil || len(texts) != 1 || texts[0] != card.QR {
		t.Errorf("DecodeImageAll = %d codes, %v", len(texts), err)
	}
	if _, err := DecodeImage(q.Image(3).(interface {
		SubImage(r image.Rectangle) image.Image
	}).SubImage(image.Rect(0, 0, 20, 20))); err == nil {
		t.Error("DecodeImage found a code in a blank corner")
	}
}
