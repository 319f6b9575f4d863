package hw

import "testing"

func TestUnitOf(t *testing.T) {
	tests := []struct{ kind, want string }{
		{KindTemp, UnitCelsius},
		{KindFan, UnitRPM},
		{KindVoltage, UnitVolt},
		{KindPower, UnitWatt},
		{"humidity", ""},
	}
	for _, tt := range tests {
		if got := UnitOf(tt.kind); got != tt.want {
			t.Errorf("UnitOf(%q) = %q, want %q", tt.kind, got, tt.want)
		}
	}
}
