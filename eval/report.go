package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what `rerank-api eval --json` prints.
type Report struct {
	Results []Result `json:"results"`
}

// WriteJSON prints the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable prints one row per metric, the published number beside the
// measured one, then the sources of the published numbers and the
// attribution of every set used.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tTASK\tMETRIC\tSCORED\tMEASURED\tPUBLISHED\tDIFF\tSOURCE")
	var sources []*Published
	var sets []Dataset
	for _, res := range r.Results {
		for _, s := range res.Scores {
			published, diff, ref := "-", "-", ""
			if p := s.Published; p != nil {
				sources = append(sources, p)
				published = fmt.Sprintf("%.4f", p.Value)
				diff = fmt.Sprintf("%+.4f", s.Value-p.Value)
				ref = fmt.Sprintf("[%d]", len(sources))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%.4f\t%s\t%s\t%s\n", res.Model, res.Task, s.Metric, res.N, res.Of, s.Value, published, diff, ref)
		}
		if !containsSet(sets, res.Dataset) {
			sets = append(sets, res.Dataset)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	for i, p := range sources {
		fmt.Fprintf(&b, "[%d] %s\n    %s\n", i+1, p.Source, p.Note)
	}
	for _, res := range r.Results {
		if res.N < res.Of {
			b.WriteString("Scores on a --limit sample vary with the sample; compare the whole set with published numbers.\n")
			break
		}
	}
	for _, d := range sets {
		fmt.Fprintf(&b, "Data: %s, %s, %s, %s\n", d.Name, d.Credit, d.License, d.URL)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func containsSet(sets []Dataset, d Dataset) bool {
	for _, s := range sets {
		if s.File == d.File {
			return true
		}
	}
	return false
}

// Progress draws a task's progress on w: a bar redrawn in place on a
// terminal, otherwise a line at every tenth, so a log keeps a record
// without thousands of lines.
type Progress struct {
	w        io.Writer
	terminal bool
	label    string
	unit     string
	start    time.Time
	tenth    int
	now      func() time.Time
}

// NewProgress starts a progress display for one task; unit names what is
// counted ("sentences", "queries").
func NewProgress(w io.Writer, terminal bool, label, unit string) *Progress {
	return &Progress{w: w, terminal: terminal, label: label, unit: unit, start: time.Now(), tenth: -1, now: time.Now}
}

// Update is an Options.Progress.
func (p *Progress) Update(done, total int) {
	if total <= 0 {
		return
	}
	rate := ""
	if secs := p.now().Sub(p.start).Seconds(); secs > 0 {
		rate = fmt.Sprintf(" %.1f/s", float64(done)/secs)
	}
	if p.terminal {
		const width = 30
		fill := done * width / total
		bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
		fmt.Fprintf(p.w, "\r\033[K%s [%s] %d/%d %s%s", p.label, bar, done, total, p.unit, rate)
		if done >= total {
			fmt.Fprintln(p.w)
		}
		return
	}
	if tenth := done * 10 / total; tenth != p.tenth {
		p.tenth = tenth
		fmt.Fprintf(p.w, "%s %d/%d %s (%d%%)%s\n", p.label, done, total, p.unit, done*100/total, rate)
	}
}
