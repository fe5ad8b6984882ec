package backend

import (
	"slices"
	"testing"
)

func TestTruncateKeepsSpecialsAndPrefix(t *testing.T) {
	m := &loadedModel{model: fakeModel{}} // 1 and 2 are its [CLS] and [SEP]
	ids := []int32{1, 50, 51, 10, 11, 12, 13, 2}
	for _, tc := range []struct {
		name      string
		limit     int
		fromStart bool
		prefixIDs []int32
		want      []int32
	}{
		{"end", 4, false, nil, []int32{1, 50, 51, 2}},
		{"start keeps the prefix", 6, true, []int32{50, 51}, []int32{1, 50, 51, 12, 13, 2}},
		{"start without a prefix", 4, true, nil, []int32{1, 12, 13, 2}},
		{"start, prefix tokenized differently", 4, true, []int32{50, 99}, []int32{1, 50, 13, 2}},
		{"start, limit shorter than the prefix", 3, true, []int32{50, 51}, []int32{1, 50, 2}},
	} {
		var got []int32
		if tc.fromStart {
			got = m.truncateStart(ids, tc.limit, tc.prefixIDs)
		} else {
			got = m.truncate(ids, tc.limit)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
