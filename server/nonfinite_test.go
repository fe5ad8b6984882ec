package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/backend"
)

// NaN or Inf out of a model is a 500 that says so, counted under its own
// te_request_failure kind rather than as a generic inference failure.
func TestNonFiniteIsA500WithItsOwnFailureKind(t *testing.T) {
	err := fmt.Errorf("%w; the GGUF may be corrupt", backend.ErrNonFinite)
	ae := toAPIError(err, "req-1")
	if ae.status != http.StatusInternalServerError || ae.code != "non_finite" || !strings.Contains(ae.message, "NaN or Inf") {
		t.Errorf("got %d %q %q; want 500 non_finite naming NaN or Inf", ae.status, ae.code, ae.message)
	}
	if got := failureKind(ae.status, err); got != "non_finite" {
		t.Errorf("failure kind %q, want non_finite", got)
	}
}
