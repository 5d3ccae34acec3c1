package api

import (
	"net/http"
	"strconv"
	"time"

	"imgward"
	"imgward/catalog"
	"imgward/errors"
)

// Paid images (issue 13): offers, subscriptions and usage.

func (s *Server) paidRoutes() {
	s.handle("POST /v1/offers", s.createOffer)
	s.handle("GET /v1/offers", s.listOffers)
	s.handle("GET /v1/offers/{id}", s.getOffer)
	s.handle("PATCH /v1/offers/{id}", s.updateOffer)
	s.handle("DELETE /v1/offers/{id}", s.withdrawOffer)
	s.handle("POST /v1/offers/{id}/subscriptions", s.subscribe)
	s.handle("GET /v1/offers/{id}/subscriptions", s.offerSubscriptions)
	s.handle("GET /v1/offers/{id}/usage", s.offerUsage)
	s.handle("GET /v1/subscriptions", s.listSubscriptions)
	s.handle("DELETE /v1/subscriptions/{id}", s.cancelSubscription)
	s.handle("GET /v1/usage", s.buyerUsage)
}

// priceJSON is a price as clients write and read it: the amount a decimal
// string, never a JSON number, so that no client parses it as a float.
type priceJSON struct {
	Amount   string           `json:"amount"`
	Currency string           `json:"currency"`
	Per      imgward.PricePer `json:"per"`
}

func (p *priceJSON) input() catalog.PriceInput {
	return catalog.PriceInput{Amount: p.Amount, Currency: p.Currency, Per: p.Per}
}

func pricing(p imgward.Price) priceJSON {
	return priceJSON{Amount: catalog.FormatAmount(p.Micros), Currency: p.Currency, Per: p.Per}
}

func offerJSON(v *catalog.OfferView) map[string]any {
	m := map[string]any{
		"id": v.ID, "image_id": v.ImageID, "owner": v.Owner, "product_code": v.ProductCode,
		"title": v.Title, "description": v.Description, "price": pricing(v.Price), "state": v.State,
		"publisher": publisherJSON(&v.Publisher), "verified": v.Publisher.Verified,
		"created_at": v.CreatedAt.Format(time.RFC3339Nano), "updated_at": v.UpdatedAt.Format(time.RFC3339Nano),
	}
	if v.Sealed {
		m["sealed"] = true
		m["notice"] = "the image was unprotected; imgward sealed it (imgward_protect=full) so that buyers get its content only through the key broker"
	}
	return m
}

func (s *Server) createOffer(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	var body struct {
		ImageID     string    `json:"image_id"`
		Title       string    `json:"title"`
		Description string    `json:"description"`
		Price       priceJSON `json:"price"`
	}
	if err := decode(w, r, "application/json", &body); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.cat.CreateOffer(r.Context(), p, catalog.OfferInput{ImageID: imgward.ImageID(body.ImageID),
		Title: body.Title, Description: body.Description, Price: body.Price.input()})
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/offers/"+string(v.ID))
	writeJSON(w, http.StatusCreated, offerJSON(v))
}

func (s *Server) listOffers(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	q := r.URL.Query()
	f := catalog.OfferFilter{Publisher: imgward.ProjectID(q.Get("publisher")), Title: q.Get("title"),
		Marker: imgward.OfferID(q.Get("marker"))}
	if v := q.Get("verified"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.error(w, r, errors.E(errors.Invalid, errors.Msg("verified must be true or false")))
			return
		}
		f.Verified = &b
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.error(w, r, errors.E(errors.Invalid, errors.Msg("limit must be a positive integer")))
			return
		}
		f.Limit = n
	}
	vs, err := s.cat.ListOffers(r.Context(), p, f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"offers": jsonList(vs, offerJSON)})
}

func (s *Server) getOffer(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	v, err := s.cat.Offer(r.Context(), p, imgward.OfferID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, offerJSON(v))
}

func (s *Server) updateOffer(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	var body struct {
		Title       *string    `json:"title"`
		Description *string    `json:"description"`
		Price       *priceJSON `json:"price"`
	}
	if err := decode(w, r, "application/json", &body); err != nil {
		s.fail(w, r, err)
		return
	}
	u := catalog.OfferUpdate{Title: body.Title, Description: body.Description}
	if body.Price != nil {
		in := body.Price.input()
		u.Price = &in
	}
	v, err := s.cat.UpdateOffer(r.Context(), p, imgward.OfferID(r.PathValue("id")), u)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, offerJSON(v))
}

func (s *Server) withdrawOffer(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	v, err := s.cat.WithdrawOffer(r.Context(), p, imgward.OfferID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, offerJSON(v))
}

func subscriptionJSON(v *catalog.SubscriptionView) map[string]any {
	m := map[string]any{
		"id": v.ID, "offer_id": v.OfferID, "project_id": v.ProjectID, "user_id": v.UserID,
		"terms": v.Terms, "price": pricing(v.Price), "state": v.State,
		"created_at": v.CreatedAt.Format(time.RFC3339Nano), "cancelled_at": nil,
		"running_instances": v.Running,
	}
	if !v.CancelledAt.IsZero() {
		m["cancelled_at"] = v.CancelledAt.Format(time.RFC3339Nano)
	}
	return m
}

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	v, err := s.cat.Subscribe(r.Context(), p, imgward.OfferID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, subscriptionJSON(v))
}

// offerSubscriptions lists a seller's buyers of its offer, or the caller's
// own subscriptions to it.
func (s *Server) offerSubscriptions(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	id := imgward.OfferID(r.PathValue("id"))
	o, err := s.cat.Offer(r.Context(), p, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeSubscriptions(w, r, p, catalog.SubscriptionFilter{OfferID: id, AsSeller: o.Owner == p.ProjectID})
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	q := r.URL.Query()
	f := catalog.SubscriptionFilter{State: imgward.SubscriptionState(q.Get("state"))}
	switch q.Get("as") {
	case "", "buyer":
	case "seller":
		f.AsSeller = true
	default:
		s.error(w, r, errors.E(errors.Invalid, errors.Msg("as must be buyer or seller")))
		return
	}
	s.writeSubscriptions(w, r, p, f)
}

func (s *Server) writeSubscriptions(w http.ResponseWriter, r *http.Request, p imgward.Principal, f catalog.SubscriptionFilter) {
	vs, err := s.cat.Subscriptions(r.Context(), p, f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"subscriptions": jsonList(vs, subscriptionJSON)})
}

func (s *Server) cancelSubscription(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	v, err := s.cat.CancelSubscription(r.Context(), p, imgward.SubscriptionID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, subscriptionJSON(v))
}

func usageJSON(u *catalog.Usage) map[string]any {
	return map[string]any{
		"subscription_id": u.SubscriptionID, "offer_id": u.OfferID, "project_id": u.ProjectID,
		"instances": u.Instances, "instance_hours": u.Hours(), "price": pricing(u.Price),
		"amount": catalog.FormatAmount(u.Owed), "currency": u.Price.Currency,
	}
}

// window reads the from and to of a usage report: RFC 3339 times.
func window(r *http.Request) (from, to time.Time, err error) {
	q := r.URL.Query()
	from, err = time.Parse(time.RFC3339Nano, q.Get("from"))
	if err == nil {
		to, err = time.Parse(time.RFC3339Nano, q.Get("to"))
	}
	if err != nil {
		return from, to, errors.E(errors.Invalid, errors.Msg("from and to must be RFC 3339 times, such as 2026-12-01T00:00:00Z"))
	}
	return from, to, nil
}

func (s *Server) offerUsage(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	from, to, err := window(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	us, err := s.cat.OfferUsage(r.Context(), p, imgward.OfferID(r.PathValue("id")), from, to)
	s.writeUsage(w, r, us, from, to, err)
}

func (s *Server) buyerUsage(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	from, to, err := window(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	us, err := s.cat.BuyerUsage(r.Context(), p, from, to)
	s.writeUsage(w, r, us, from, to, err)
}

func (s *Server) writeUsage(w http.ResponseWriter, r *http.Request, us []catalog.Usage, from, to time.Time, err error) {
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from.UTC().Format(time.RFC3339Nano),
		"to": to.UTC().Format(time.RFC3339Nano), "usage": jsonList(us, usageJSON)})
}
