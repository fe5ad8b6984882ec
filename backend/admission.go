package backend

import (
	"fmt"
	"sync"

	"github.com/rerank-api/rerank-api/envconfig"
)

// admission bounds the requests in progress: all of them together
// (MaxConcurrentRequests, TEI's --max-concurrent-requests) and those of each
// model (MaxConcurrentRequestsPerModel). Without the second, one busy model
// could hold every slot while its requests wait in its queue, and a request
// for an idle model would be refused although nothing stands before it.
// A request over either bound fails at once with ErrOverloaded (429):
// waiting for a slot would only move the queue somewhere it cannot be seen.
type admission struct {
	total, perModel int

	mu         sync.Mutex
	inProgress int
	byModel    map[string]int // only models with requests in progress
}

func newAdmission(total, perModel int) *admission {
	return &admission{total: total, perModel: perModel, byModel: map[string]int{}}
}

// admit takes a slot for a request to model; done gives it back and must be
// called exactly once.
func (a *admission) admit(model string) (done func(), err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inProgress >= a.total {
		return nil, fmt.Errorf("%w: %d requests in progress, the server's limit (--%s); retry shortly",
			ErrOverloaded, a.inProgress, envconfig.MaxConcurrentRequests.Flag)
	}
	if n := a.byModel[model]; n >= a.perModel {
		return nil, fmt.Errorf("%w: %d requests in progress for model %q, its limit (--%s); retry shortly",
			ErrOverloaded, n, model, envconfig.MaxConcurrentPerModel.Flag)
	}
	a.inProgress++
	a.byModel[model]++
	var once sync.Once
	return func() { once.Do(func() { a.release(model) }) }, nil
}

func (a *admission) release(model string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inProgress--
	if a.byModel[model]--; a.byModel[model] == 0 {
		delete(a.byModel, model) // a map of every name ever asked for would only grow
	}
}
