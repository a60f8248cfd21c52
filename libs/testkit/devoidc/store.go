package devoidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/zitadel/oidc/v3/pkg/crypto"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

const (
	authRequestTTL  = 10 * time.Minute
	refreshTokenTTL = 8 * time.Hour
	mintClientID    = "devoidc"
)

var (
	_ op.Storage                        = (*store)(nil)
	_ op.ClientCredentialsStorage       = (*store)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*store)(nil)
)

// store is one issuer's in-memory op.Storage: its organisation's users and
// clients, its signing key, and the auth requests and tokens it has issued.
type store struct {
	issuer string
	org    Organisation
	ttl    time.Duration
	key    signingKey

	users   map[string]User
	clients map[string]Client

	mu           sync.Mutex
	authRequests map[string]*authRequest
	codes        map[string]string // code -> auth request id
	tokens       map[string]*accessToken
	refresh      map[string]*refreshToken
}

type accessToken struct {
	id, subject, clientID, refreshToken string
	audience, scopes                    []string
	expiry                              time.Time
}

type refreshToken struct {
	token, subject, clientID, accessID string
	audience, scopes, amr              []string
	authTime, expiry                   time.Time
}

func newStore(issuer string, o Organisation, ttl time.Duration) (*store, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("devoidc: key for %q: %w", o.Slug, err)
	}
	s := &store{
		issuer: issuer, org: o, ttl: ttl,
		key:          signingKey{id: uuid.NewString(), key: k},
		users:        map[string]User{},
		clients:      map[string]Client{},
		authRequests: map[string]*authRequest{},
		codes:        map[string]string{},
		tokens:       map[string]*accessToken{},
		refresh:      map[string]*refreshToken{},
	}
	for _, u := range o.Users {
		s.users[u.Username] = u
	}
	for _, c := range o.Clients {
		s.clients[c.ID] = c
	}
	return s, nil
}

// audience of tokens for clientID: the API audience first, then the client.
func (s *store) audience(clientID string) []string {
	aud := []string{s.org.Audience}
	if clientID != "" && clientID != s.org.Audience {
		aud = append(aud, clientID)
	}
	return aud
}

// privateClaims are what the platform reads: roles and organisation.
func (s *store) privateClaims(roles []string) map[string]any {
	if roles == nil {
		roles = []string{}
	}
	return map[string]any{"roles": roles, "org": s.org.ID}
}

// pruneLocked drops expired state so a long local run does not grow forever.
func (s *store) pruneLocked(now time.Time) {
	for id, ar := range s.authRequests {
		if now.Sub(ar.created) > authRequestTTL {
			delete(s.authRequests, id)
		}
	}
	for code, id := range s.codes {
		if _, ok := s.authRequests[id]; !ok {
			delete(s.codes, code)
		}
	}
	for id, t := range s.tokens {
		if now.After(t.expiry) {
			delete(s.tokens, id)
		}
	}
	for tok, r := range s.refresh {
		if now.After(r.expiry) {
			delete(s.refresh, tok)
		}
	}
}

func (s *store) newAccessTokenLocked(subject, clientID, refresh string, audience, scopes []string, expiry time.Time) *accessToken {
	s.pruneLocked(time.Now())
	t := &accessToken{id: uuid.NewString(), subject: subject, clientID: clientID, refreshToken: refresh,
		audience: audience, scopes: scopes, expiry: expiry}
	s.tokens[t.id] = t
	return t
}

// mint signs an access token for a demo user without any flow.
func (s *store) mint(username string, opts ...MintOption) (string, error) {
	u, ok := s.users[username]
	if !ok {
		return "", fmt.Errorf("unknown user %q in %s", username, s.org.Slug)
	}
	o := mintOptions{ttl: s.ttl, audience: []string{s.org.Audience}, roles: u.Roles}
	for _, opt := range opts {
		opt(&o)
	}
	expiry := time.Now().Add(o.ttl)
	s.mu.Lock()
	t := s.newAccessTokenLocked(u.Username, mintClientID, "", o.audience,
		[]string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail}, expiry)
	s.mu.Unlock()
	claims := oidc.NewAccessTokenClaims(s.issuer, u.Username, o.audience, expiry, t.id, mintClientID, 0)
	claims.Claims = s.privateClaims(o.roles)
	signer, err := op.SignerFromKey(&s.key)
	if err != nil {
		return "", err
	}
	return crypto.Sign(claims, signer)
}

// completeLogin records that the login page's user signed in for request id.
func (s *store) completeLogin(id, username string) error {
	if _, ok := s.users[username]; !ok {
		return errors.New("unknown user")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.authRequests[id]
	if !ok {
		return errors.New("sign-in request not found or expired")
	}
	ar.subject, ar.done, ar.authTime = username, true, time.Now()
	return nil
}

func (s *store) authRequest(id string) (*authRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.authRequests[id]
	return ar, ok
}

// --- op.AuthStorage ---

func (s *store) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired()
	}
	c, ok := s.clients[req.ClientID]
	if !ok {
		return nil, oidc.ErrInvalidClient()
	}
	// The op library accepts "plain" PKCE too; public clients here must use S256.
	if c.Public && (req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256) {
		return nil, oidc.ErrInvalidRequest().WithDescription("public clients must use PKCE with code_challenge_method=S256")
	}
	ar := &authRequest{
		id: uuid.NewString(), created: time.Now(), clientID: req.ClientID, redirectURI: req.RedirectURI,
		state: req.State, nonce: req.Nonce, scopes: req.Scopes, responseType: req.ResponseType,
		responseMode: req.ResponseMode, subject: userID, audience: s.audience(req.ClientID),
	}
	if req.CodeChallenge != "" {
		ar.codeChallenge = &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(time.Now())
	s.authRequests[ar.id] = ar
	return ar, nil
}

func (s *store) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	if ar, ok := s.authRequest(id); ok {
		return ar, nil
	}
	return nil, errors.New("auth request not found")
}

func (s *store) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, errors.New("code invalid or expired")
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *store) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest also burns the code, so a code works once.
func (s *store) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.authRequests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

func clientOf(req op.TokenRequest) string {
	switch r := req.(type) {
	case *authRequest:
		return r.clientID
	case *refreshRequest:
		return r.clientID
	case *clientCredentialsRequest:
		return r.client.ID
	}
	return ""
}

func (s *store) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	expiry := time.Now().Add(s.ttl)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.newAccessTokenLocked(req.GetSubject(), clientOf(req), "", req.GetAudience(), req.GetScopes(), expiry)
	return t.id, expiry, nil
}

// CreateAccessAndRefreshTokens issues a refresh token on the code flow and
// rotates it on every refresh (the old one stops working).
func (s *store) CreateAccessAndRefreshTokens(_ context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	now := time.Now()
	expiry := now.Add(s.ttl)
	clientID := clientOf(req)
	var amr []string
	authTime := now
	switch r := req.(type) {
	case *authRequest:
		amr, authTime = r.GetAMR(), r.authTime
	case *refreshRequest:
		amr, authTime = r.amr, r.authTime
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if current != "" {
		old, ok := s.refresh[current]
		if !ok || now.After(old.expiry) {
			return "", "", time.Time{}, op.ErrInvalidRefreshToken
		}
		delete(s.refresh, current)
		delete(s.tokens, old.accessID)
	}
	rt := &refreshToken{token: uuid.NewString(), subject: req.GetSubject(), clientID: clientID,
		audience: req.GetAudience(), scopes: req.GetScopes(), amr: amr, authTime: authTime, expiry: now.Add(refreshTokenTTL)}
	at := s.newAccessTokenLocked(req.GetSubject(), clientID, rt.token, req.GetAudience(), req.GetScopes(), expiry)
	rt.accessID = at.id
	s.refresh[rt.token] = rt
	return at.id, rt.token, expiry, nil
}

func (s *store) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refresh[token]
	if !ok || time.Now().After(rt.expiry) {
		return nil, errors.New("invalid refresh token")
	}
	cp := *rt
	return &refreshRequest{refreshToken: &cp}, nil
}

func (s *store) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tokens {
		if t.subject == userID && t.clientID == clientID {
			delete(s.tokens, id)
		}
	}
	for tok, r := range s.refresh {
		if r.subject == userID && r.clientID == clientID {
			delete(s.refresh, tok)
		}
	}
	return nil
}

func (s *store) GetRefreshTokenInfo(_ context.Context, _ string, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refresh[token]
	if !ok {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rt.subject, rt.token, nil
}

func (s *store) RevokeToken(_ context.Context, tokenOrID, _ string, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[tokenOrID]; ok {
		if t.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		delete(s.tokens, tokenOrID)
		return nil
	}
	if r, ok := s.refresh[tokenOrID]; ok {
		if r.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		delete(s.refresh, tokenOrID)
		delete(s.tokens, r.accessID)
	}
	return nil // unknown tokens count as revoked (RFC 7009)
}

func (s *store) SigningKey(context.Context) (op.SigningKey, error) { return &s.key, nil }

func (s *store) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *store) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{&publicKey{s.key}}, nil
}

// --- op.OPStorage ---

func (s *store) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := s.clients[id]
	if !ok {
		return nil, fmt.Errorf("client %q not found", id)
	}
	return &opClient{c: c, loginURL: s.issuer + "/login?authRequestID=", ttl: s.ttl}, nil
}

func (s *store) confidential(id, secret string) (Client, error) {
	c, ok := s.clients[id]
	if !ok || c.Public || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		return Client{}, errors.New("wrong client id or secret")
	}
	return c, nil
}

func (s *store) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	_, err := s.confidential(id, secret)
	return err
}

// SetUserinfoFromScopes fills the ID token's user claims.
func (s *store) SetUserinfoFromScopes(_ context.Context, info *oidc.UserInfo, userID, _ string, scopes []string) error {
	return s.setUserinfo(info, userID, scopes)
}

func (s *store) setUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	info.Subject = subject
	u, ok := s.users[subject]
	if !ok {
		if _, isClient := s.clients[subject]; isClient {
			return nil // a service account has no profile
		}
		return errors.New("user not found")
	}
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeProfile:
			info.Name = u.Name
			info.PreferredUsername = u.Username
		case oidc.ScopeEmail:
			info.Email = u.Email
			info.EmailVerified = true
		}
	}
	info.AppendClaims("roles", s.privateClaims(u.Roles)["roles"])
	info.AppendClaims("org", s.org.ID)
	return nil
}

func (s *store) liveToken(id, subject string) (*accessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[id]
	if !ok || t.subject != subject || time.Now().After(t.expiry) {
		return nil, errors.New("token is not active")
	}
	cp := *t
	return &cp, nil
}

func (s *store) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	t, err := s.liveToken(tokenID, subject)
	if err != nil {
		return err
	}
	return s.setUserinfo(info, t.subject, t.scopes)
}

func (s *store) SetIntrospectionFromToken(_ context.Context, in *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.liveToken(tokenID, subject)
	if err != nil {
		return err
	}
	info := new(oidc.UserInfo)
	if err := s.setUserinfo(info, t.subject, t.scopes); err != nil {
		return err
	}
	in.SetUserInfo(info)
	in.Scope = t.scopes
	in.ClientID = t.clientID
	in.Audience = t.audience
	in.Expiration = oidc.FromTime(t.expiry)
	return nil
}

// GetPrivateClaimsFromRequest puts roles and org into JWT access tokens:
// the user's roles, or a confidential client's for client_credentials.
func (s *store) GetPrivateClaimsFromRequest(_ context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	if cc, ok := req.(*clientCredentialsRequest); ok {
		return s.privateClaims(cc.client.Roles), nil
	}
	return s.GetPrivateClaimsFromScopes(context.Background(), req.GetSubject(), "", nil)
}

func (s *store) GetPrivateClaimsFromScopes(_ context.Context, userID, _ string, _ []string) (map[string]any, error) {
	u, ok := s.users[userID]
	if !ok {
		return nil, fmt.Errorf("user %q not found", userID)
	}
	return s.privateClaims(u.Roles), nil
}

// JWT profile grants and private_key_jwt are not offered by this provider.
func (s *store) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("private_key_jwt is not supported")
}

func (s *store) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("jwt profile grant is not supported")
}

func (s *store) Health(context.Context) error { return nil }

// --- op.ClientCredentialsStorage ---

func (s *store) ClientCredentials(_ context.Context, id, secret string) (op.Client, error) {
	c, err := s.confidential(id, secret)
	if err != nil {
		return nil, err
	}
	return &opClient{c: c, ttl: s.ttl}, nil
}

func (s *store) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (op.TokenRequest, error) {
	c, ok := s.clients[id]
	if !ok || c.Public {
		return nil, errors.New("client not found")
	}
	return &clientCredentialsRequest{client: c, scopes: scopes, audience: s.audience(id)}, nil
}
