package catalog

import (
	"math/big"
	"strconv"
	"strings"

	"imgward"
)

// Prices and amounts are integers of micro-units (imgward.Price): a
// decimal string is parsed digit by digit, never through a float, and
// amounts owed are computed with math/big.

// maxPriceDigits bounds the integer part of a price: 12 digits of units
// and 6 of micro-units stay well inside int64.
const maxPriceDigits = 12

// ParseAmount parses a non-negative decimal amount of at most 6
// fractional digits, such as "0.12", into micro-units.
func ParseAmount(s string) (int64, error) {
	whole, frac, dot := strings.Cut(s, ".")
	switch {
	case strings.HasPrefix(s, "-"):
		return 0, invalid("price amount must not be negative")
	case whole == "" || len(whole) > maxPriceDigits || !digits(whole):
		return 0, invalid("price amount must be a decimal number such as \"0.12\", at most 12 digits before the point")
	case dot && (frac == "" || !digits(frac)):
		return 0, invalid("price amount must be a decimal number such as \"0.12\"")
	case len(frac) > 6:
		return 0, invalid("price amount has more than 6 fractional digits")
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return w*1_000_000 + f, nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// FormatAmount writes micro-units as a decimal with 6 fractional digits.
func FormatAmount(micros int64) string {
	sign := ""
	if micros < 0 {
		sign, micros = "-", -micros
	}
	return sign + strconv.FormatInt(micros/1_000_000, 10) + "." + leftPad(micros%1_000_000)
}

func leftPad(n int64) string {
	s := strconv.FormatInt(n, 10)
	return strings.Repeat("0", 6-len(s)) + s
}

// PriceInput is a price as a client writes it.
type PriceInput struct {
	Amount   string
	Currency string
	Per      imgward.PricePer
}

// parsePrice checks a client's price.
func parsePrice(in PriceInput) (imgward.Price, error) {
	m, err := ParseAmount(in.Amount)
	if err != nil {
		return imgward.Price{}, err
	}
	if len(in.Currency) != 3 || strings.ToUpper(in.Currency) != in.Currency || !letters(in.Currency) {
		return imgward.Price{}, invalid("price currency must be three upper-case letters, such as USD")
	}
	switch in.Per {
	case imgward.PerHour, imgward.PerMonth, imgward.PerOnce:
	default:
		return imgward.Price{}, invalid("price per must be hour, month or once")
	}
	return imgward.Price{Micros: m, Currency: in.Currency, Per: in.Per}, nil
}

func letters(s string) bool {
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// prorate returns price × num / den in micro-units, rounded half up, in
// exact arithmetic (num and den are microseconds, whose product with a
// price can pass int64); false if the result passes int64.
func prorate(price, num, den int64) (int64, bool) {
	if den <= 0 || num <= 0 {
		return 0, true
	}
	x := new(big.Int).Mul(big.NewInt(price), big.NewInt(num))
	x.Mul(x, big.NewInt(2)).Add(x, big.NewInt(den))
	x.Quo(x, new(big.Int).Mul(big.NewInt(den), big.NewInt(2)))
	return x.Int64(), x.IsInt64()
}
