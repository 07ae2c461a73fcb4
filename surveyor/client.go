package surveyor

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

// RetryPolicy says how hard the client tries before giving up. Waits grow
// exponentially from Base up to Max with full jitter, so a hundred laptops
// coming back online together do not hammer the server in step.
type RetryPolicy struct {
	Base       time.Duration // the first retry waits up to this
	Max        time.Duration // no wait is longer, unless the server asks for it with Retry-After
	MaxRetries int           // retries after the first attempt
}

// DefaultRetryPolicy suits a laptop on a bad mobile network: about four
// minutes of trying before it tells the worker.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Base: 500 * time.Millisecond, Max: 30 * time.Second, MaxRetries: 10}
}

// maxRetryAfter bounds what a server may ask us to wait.
const maxRetryAfter = 10 * time.Minute

// maxResponseBytes bounds what we read of any answer.
const maxResponseBytes = 16 << 20

// Client speaks the sync protocol (docs/sync-protocol.md) to one server.
type Client struct {
	BaseURL    string // like https://sync.example.org, without /api/v1
	Token      string // the device token; empty for registration
	HTTPClient *http.Client
	Retry      RetryPolicy
	Logger     *slog.Logger

	// sleep waits between attempts; tests replace it to see the waits
	// without spending them.
	sleep func(ctx context.Context, d time.Duration) error
}

// Register exchanges a one-time code for the device's identity and keys.
func (c *Client) Register(ctx context.Context, reg schema.Registration) (schema.Registered, error) {
	body, err := json.Marshal(reg)
	if err != nil {
		return schema.Registered{}, fmt.Errorf("register: %w", err)
	}
	var out schema.Registered
	if _, err := c.do(ctx, http.MethodPost, "/api/v1/devices/register", body, false, &out); err != nil {
		return schema.Registered{}, fmt.Errorf("register: %w", err)
	}
	return out, nil
}

// PushBatch sends one batch, gzip-compressed, retrying on network errors,
// 5xx and 429 with the very same body: the server answers per (id, version),
// so a batch that arrived but whose answer was lost is acknowledged again.
// sent is the compressed bytes put on the wire over all attempts.
func (c *Client) PushBatch(ctx context.Context, b schema.Batch) (res schema.BatchResult, sent int64, err error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return res, 0, fmt.Errorf("push batch %s: %w", b.BatchID, err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return res, 0, fmt.Errorf("push batch %s: compress: %w", b.BatchID, err)
	}
	if err := zw.Close(); err != nil {
		return res, 0, fmt.Errorf("push batch %s: compress: %w", b.BatchID, err)
	}
	sent, err = c.do(ctx, http.MethodPost, "/api/v1/sync/batches", buf.Bytes(), true, &res)
	if err != nil {
		return res, sent, fmt.Errorf("push batch %s: %w", b.BatchID, err)
	}
	return res, sent, nil
}

// Changes fetches one page of what the server learnt after cursor.
func (c *Client) Changes(ctx context.Context, after int64, limit int) (schema.Changes, error) {
	q := url.Values{}
	q.Set("after", strconv.FormatInt(after, 10))
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out schema.Changes
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/sync/changes?"+q.Encode(), nil, false, &out); err != nil {
		return schema.Changes{}, fmt.Errorf("pull changes: %w", err)
	}
	return out, nil
}

// do sends one request until it gets an answer it can act on. It returns
// the request body bytes sent over all attempts.
func (c *Client) do(ctx context.Context, method, path string, body []byte, gz bool, out any) (int64, error) {
	var sent int64
	for attempt := 0; ; attempt++ {
		status, header, respBody, err := c.once(ctx, method, path, body, gz)
		if err == nil || status != 0 {
			sent += int64(len(body))
		}
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return sent, ctx.Err()
			}
		case status == http.StatusTooManyRequests || status >= 500:
			err = problemError(status, respBody)
			wait = retryAfter(header.Get("Retry-After"), time.Now())
		case status >= 400:
			return sent, problemError(status, respBody)
		case status < 200 || status >= 300:
			return sent, fmt.Errorf("unexpected answer %d %s", status, http.StatusText(status))
		default:
			if out == nil {
				return sent, nil
			}
			if err := json.Unmarshal(respBody, out); err != nil {
				return sent, &schema.Error{Code: schema.EMALFORMED, Message: fmt.Sprintf("the server's answer is not the expected JSON: %v", err)}
			}
			return sent, nil
		}
		if attempt >= c.Retry.MaxRetries {
			return sent, fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)
		}
		d := c.backoff(attempt)
		if wait > d {
			d = wait
		}
		c.logger().Warn("sending failed, will retry", "path", strings.SplitN(path, "?", 2)[0],
			"attempt", attempt+1, "wait", d.Round(time.Millisecond).String(), "reason", err.Error())
		if err := c.wait(ctx, d); err != nil {
			return sent, err
		}
	}
}

// once makes one attempt. A non-nil error with status 0 means no answer
// arrived (the network failed); the whole body is read so that a cut in
// the middle of an answer counts as a network failure too.
func (c *Client) once(ctx context.Context, method, path string, body []byte, gz bool) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "doorstep-surveyor")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

// backoff is the full-jitter wait before retry number attempt+1: uniform
// in [0, min(Max, Base·2^attempt)].
func (c *Client) backoff(attempt int) time.Duration {
	base, maxd := c.Retry.Base, c.Retry.Max
	if base <= 0 {
		return 0
	}
	if maxd <= 0 {
		maxd = base
	}
	ceil := maxd
	if attempt < 32 {
		if d := base << attempt; d > 0 && d < maxd {
			ceil = d
		}
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

func (c *Client) wait(ctx context.Context, d time.Duration) error {
	if c.sleep != nil {
		return c.sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// problemError turns an error answer into a *schema.Error carrying the
// server's code, field and message, so the worker reads the server's words.
func problemError(status int, body []byte) error {
	var p schema.Problem
	if err := json.Unmarshal(body, &p); err != nil || (p.Code == "" && p.Message == "") {
		text := strings.TrimSpace(string(body))
		if len(text) > 200 {
			text = text[:200] + "…"
		}
		if text == "" {
			text = http.StatusText(status)
		}
		return fmt.Errorf("server answered %d: %w", status, &schema.Error{Code: schema.CodeForStatus(status), Message: text})
	}
	if p.Code == "" {
		p.Code = schema.CodeForStatus(status)
	}
	if p.Message == "" {
		p.Message = p.Title
	}
	return fmt.Errorf("server answered %d: %w", status, &schema.Error{Code: p.Code, Field: p.Field, Rule: p.Rule, Message: p.Message})
}
