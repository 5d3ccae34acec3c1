package catalog

import (
	"testing"
	"time"

	"imgward"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"0.12", 120000, true},
		{"12", 12000000, true},
		{"0.000001", 1, true},
		{"999999999999.999999", 999999999999999999, true},
		{"1.5", 1500000, true},
		{"-0.12", 0, false},
		{"-0", 0, false},
		{"0.1234567", 0, false},
		{"abc", 0, false},
		{"1e3", 0, false},
		{"", 0, false},
		{".5", 0, false},
		{"1.", 0, false},
		{" 1", 0, false},
		{"+1", 0, false},
		{"1,5", 0, false},
		{"1000000000000", 0, false}, // 13 digits before the point
		{"١", 0, false},             // a non-ASCII digit
	}
	for _, tt := range tests {
		got, err := ParseAmount(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// FuzzParseAmount checks that what parses formats back to the same value
// and never goes negative.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0.12", "-1", "1.1234567", "999999999999.999999", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseAmount(s)
		if err != nil {
			return
		}
		if m < 0 {
			t.Fatalf("ParseAmount(%q) = %d, negative", s, m)
		}
		back, err := ParseAmount(FormatAmount(m))
		if err != nil || back != m {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, m, FormatAmount(m), back, err)
		}
	})
}

func TestFormatAmount(t *testing.T) {
	for in, want := range map[int64]string{0: "0.000000", 1: "0.000001", 120000: "0.120000", 12_345_678: "12.345678", -5: "-0.000005"} {
		if got := FormatAmount(in); got != want {
			t.Errorf("FormatAmount(%d) = %q, want %q", in, got, want)
		}
	}
}

// TestBill is the pricing table: per hour by instance-time, per month by
// subscribed time in the window, once when subscribed in the window;
// rounded half up to the micro-unit, exactly.
func TestBill(t *testing.T) {
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(30 * 24 * time.Hour)
	sub := func(per imgward.PricePer, micros int64, created, cancelled time.Time) imgward.Subscription {
		return imgward.Subscription{ID: "sub-1", Price: imgward.Price{Micros: micros, Currency: "USD", Per: per},
			CreatedAt: created, CancelledAt: cancelled}
	}
	hour := time.Hour.Microseconds()
	tests := []struct {
		name  string
		sub   imgward.Subscription
		usec  int64
		owed  int64
		empty bool
	}{
		{"hourly", sub(imgward.PerHour, 120000, from, time.Time{}), 2 * hour, 240000, false},
		{"hourly, half a micro-unit rounds up", sub(imgward.PerHour, 1, from, time.Time{}), hour / 2, 1, false},
		{"hourly, nothing ran", sub(imgward.PerHour, 120000, from, time.Time{}), 0, 0, true},
		{"hourly, large", sub(imgward.PerHour, 999999999999999999, from, time.Time{}), 10 * hour, 0, true}, // overflows int64
		{"monthly, whole window", sub(imgward.PerMonth, 30_000000, from.Add(-time.Hour), time.Time{}), 0, 30_000000, false},
		{"monthly, cancelled half way", sub(imgward.PerMonth, 30_000000, from, from.Add(15*24*time.Hour)), 0, 15_000000, false},
		{"once, in the window", sub(imgward.PerOnce, 5_000000, from.Add(time.Hour), time.Time{}), 0, 5_000000, false},
		{"once, before the window", sub(imgward.PerOnce, 5_000000, from.Add(-time.Hour), time.Time{}), 0, 0, true},
	}
	for _, tt := range tests {
		rows := []imgward.UsageRow{{SubscriptionID: "sub-1", Instances: 1, Micros: tt.usec}}
		if tt.usec == 0 {
			rows = nil
		}
		us, err := bill([]imgward.Subscription{tt.sub}, rows, from, to)
		if tt.name == "hourly, large" {
			if err == nil {
				t.Errorf("%s: no overflow error", tt.name)
			}
			continue
		}
		switch {
		case err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.empty && len(us) != 0:
			t.Errorf("%s: %+v, want no row", tt.name, us)
		case !tt.empty && (len(us) != 1 || us[0].Owed != tt.owed):
			t.Errorf("%s: %+v, want owed %d", tt.name, us, tt.owed)
		}
	}
}
