package reply

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The line patterns of the clients in shared/design/reply-patterns.md. All are
// matched against one normalised line (CRLF, NBSP and U+3000 already turned
// into plain line ends and spaces). Go's regexp is linear-time.

// brokenWrapEnd is the tail of an attribution whose address wrapped so that
// the tail starts with ">" ("<a@b\n> wrote:", "<a@b\n>:").
var brokenWrapEnd = regexp.MustCompile(`(?i)^[ \t]*>[ \t>]*(wrote|写道|寫道|a écrit|schrieb|escribió|escreveu|geschreven|skrev|napisał\(a\)|написал)?[ \t]*[:：][ \t]*$`)

// namedDivider: "-----原始邮件-----", "------------------ Original ------------------", ...
var namedDivider = regexp.MustCompile(`(?i)^[\s*>]*[-_=]{2,}\s*(原始邮件|邮件原件|原始消息|原始郵件|原始信息|回复的原邮件|回覆的原郵件|转发的邮件|轉寄的郵件|转发邮件信息|转发邮件|轉寄郵件|原邮件|original message|original|replied message|forwarded message|forwarded|message d'origine|message transféré|ursprüngliche nachricht|weitergeleitete nachricht|mensaje original|mensaje reenviado|messaggio originale|messaggio inoltrato|oorspronkelijk bericht|doorgestuurd bericht|originalmeddelande|vidarebefordrat meddelande|opprinnelig melding|videresendt melding|oprindelig meddelelse|wiadomość oryginalna|исходное сообщение|пересылаемое сообщение|mensagem original|mensagem encaminhada|alkuperäinen viesti)\s*[-_=]{2,}[\s*]*$`)

// dashSandwich: any short text between runs of three or more dashes
// ("---- On … wrote ----", "-------- 转发邮件信息 --------").
var dashSandwich = regexp.MustCompile(`^[\s*]*-{3,}\s*\S.{0,100}-{3,}[\s*]*$`)

// forwardMarker: the start of a forwarded message.
var forwardMarker = regexp.MustCompile(`(?i)^[\s*]*(begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié|inicio del mensaje reenviado|下面是转发的邮件|转发的邮件|轉寄的郵件)\s*[:：]?[\s*]*$`)

// delimiterChars make up delimiter-only lines (`--`, `____`, `====`, `ᐧ`).
const delimiterChars = "-_=+~#*—–ᐧ"

// headerField: a field line of a quoted header block (Outlook, QQ, Foxmail,
// Coremail, Alibaba, Gmail forwards, and the European Outlooks).
var headerField = regexp.MustCompile(`(?i)^[\s*]*(发件人|發件人|寄件者|寄件人|從|从|发送时间|發送時間|发送日期|發送日期|寄件日期|日期|时间|時間|收件人|收件者|至|抄\s*送|副\s*本|主\s*题|主\s*題|主\s*旨|标\s*题|from|sent|date|to|cc|bcc|subject|reply-to|von|gesendet|an|betreff|datum|da|data|a|oggetto|inviato|risposta|de|enviado|para|asunto|envoyé|à|objet|från|skickat|till|ämne|van|verzonden|aan|onderwerp|fra|sendt|til|emne|от|отправлено|кому|тема|дата|od|wysłano|do|temat|lähettäjä|lähetetty|vastaanottaja|aihe)[\s*]*[:：]`)

// fromField: the header block must have a sender field.
var fromField = regexp.MustCompile(`(?i)^[\s*]*(发件人|發件人|寄件者|寄件人|從|从|from|von|da|de|från|van|fra|от|od|lähettäjä)[\s*]*[:：]`)

// attrVerbEnd: an attribution's verb at the end of the (joined) line.
var attrVerbEnd = regexp.MustCompile(`(?i)(wrote|writes|a [ée]crit|schrieb|escribi[óo]|escreveu|ha scritto|scrisse|geschreven|schreef|skrev|napisał\(a\)|napisała|napisał|написал\(а\)|написала|написал|пише|kirjoitti|írta|yazdı|写道|寫道|写了|寫了)\s*[:：]?\s*(-{2,})?\s*$`)

// attrVerbDate: a verb followed by the date (German Gmail: "schrieb am …:").
var attrVerbDate = regexp.MustCompile(`(?i)(schrieb am|a écrit le|escribió el|escreveu em|ha scritto il|wrote on)\s.{4,80}[:：]\s*$`)

// oldGmailDate: "2016-03-03 17:21 GMT+01:00 Name <a@b>:" (Gmail until 2016)
// or "2013/7/20 Name <a@b>".
var oldGmailDate = regexp.MustCompile(`^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(\s+\d{1,2}:\d{2}(:\d{2})?)?\s+(GMT[+-]\d{1,2}:?\d{2}\b|.{0,80}[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.)`)

// attrStart: words an attribution begins with.
var attrStart = regexp.MustCompile(`(?i)^[\s\-*]*(on|am|le|el|em|op|il|den|dnia|w dniu|at|в|на|在|於|\d)`)

var hasDate = regexp.MustCompile(`\b(19|20)\d{2}\b|\d{1,2}:\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d+\s*年\s*\d+\s*月|\d+\s*月\s*\d+\s*日`)

var hasEmail = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|mailto:`)

// zhMobileSig: 发自我的iPhone, 从我的华为手机发送, 来自网易邮箱大师, 来自QQ邮箱 ...
var zhMobileSig = regexp.MustCompile(`(?i)^[\s\-—*(（【\[]*(发自|来自|來自|寄自|從|从|由)(我的)?\s*.{0,24}?(iphone|ipad|ipod|android|安卓|华为|華為|荣耀|榮耀|小米|红米|oppo|vivo|一加|魅族|三星|手机|手機|邮箱|郵箱|网易|網易|qq|企业微信|outlook|移动设备|客户端|huawei|xiaomi|honor|galaxy|mail)\s*.{0,12}?(发送|傳送|寄出|发出)?[\s\-—*)）】\]]*$`)

// otherMobileSig: the European clients' "sent from my device" lines.
var otherMobileSig = regexp.MustCompile(`(?i)^[\s<(\[*]*(envoy[ée] à partir de|(gesendet|envoy[ée]|enviado|inviato|verzonden|sendt|skickat|wysłane|отправлено|lähetetty)\s+(von|depuis|de|desde|do|da|met|vanaf|fra|från|z|с|из)\s|von meinem|diese nachricht wurde von meinem|get outlook for (ios|android)|get \[outlook for|sent from outlook|sent from mail for windows)`)

var sentLead = regexp.MustCompile(`(?i)^[\s<(\[*]*(sent|sended)\s+(from|via|with|using|by|on|through)\b`)

var fromMyDevice = regexp.MustCompile(`(?i)^[\s<(\[*]*(\w+\s+)?from\s+(my\s+)?(iphone|ipad|ipod|android|mobile|phone|cell|blackberry|galaxy|samsung|huawei|pixel)\b`)

var deviceWord = regexp.MustCompile(`(?i)(iphone|ipad|ipod|android|mobile|phone|cell|blackberry|galaxy|samsung|htc|nokia|huawei|xiaomi|pixel|windows|mail|mailbox|outlook|airmail|yahoo|device|tablet|kindle|surface|spark|gmail|proton)`)

// tokenBanner: gateway tags put before the text ("[External]", 【外部邮件】).
var tokenBanner = regexp.MustCompile(`(?i)^\s*(\[external( email| sender)?\]|\[ext\]|\[外部邮件\]|【外部邮件】|【外部郵件】|\[外部郵件\]|\[amd official use only[^\]]{0,40}\]|\[amd public use\]|\[public\]|\[internal use only\])\s*`)

// sentenceBanner: the first line of a gateway warning paragraph.
var sentenceBanner = regexp.MustCompile(`(?i)^\s*(((caution|warning|attention|notice|external( email| sender)?)\s*[:：!-]\s*)?(this (e-?mail|message) (originated|was sent|came|is) from outside|external (e-?mail|sender)[:：!]?\s*(do not|don't|be careful|please|this))|(caution|warning)\s*[:：]\s*external|【?(注意|警告|提醒|提示|外部邮件)?】?\s*[:：]?\s*(这封|此|本)(邮件|郵件|信)(来自|來自|是来自|为).{0,12}外部|【?外部邮件(提醒|警告|提示)?】?\s*[:：]?\s*.{0,12}(请|請)(谨慎|注意|小心|勿))`)

// bareDate: a line holding only a date and time (Foxmail writes one above
// its divider).
var bareDate = regexp.MustCompile(`^\s*\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(\s+\d{1,2}:\d{2}(:\d{2})?)?\s*$`)

// isDelimiterLine: a line made of delimiter characters only ("--", "____",
// "====", "ᐧ"), a signature delimiter or a divider.
func isDelimiterLine(s string) bool {
	t := strings.TrimSpace(s)
	if t == "ᐧ" {
		return true
	}
	if utf8.RuneCountInString(t) < 2 {
		return false
	}
	for _, r := range t {
		if !strings.ContainsRune(delimiterChars, r) {
			return false
		}
	}
	return true
}

// dividerKind names the divider line s is, or "".
func dividerKind(s string) string {
	t := strings.TrimSpace(s)
	if t == "" {
		return ""
	}
	first, _ := utf8.DecodeRuneInString(t)
	switch {
	case t == "--":
		return "signature delimiter"
	case isDelimiterLine(t):
		return "delimiter line"
	case strings.ContainsRune("-_=*>", first):
		if dashSandwich.MatchString(t) || namedDivider.MatchString(t) {
			return "divider"
		}
		if forwardMarker.MatchString(t) {
			return "forward marker"
		}
	case len(t) < 120 && strings.ContainsRune("BbAaDdIi下转轉", first):
		if forwardMarker.MatchString(t) {
			return "forward marker"
		}
	}
	return ""
}

// isMobileSig tells whether s is a "sent from my phone" signature line.
func isMobileSig(s string) bool {
	t := strings.TrimSpace(s)
	if t == "" || len(t) > 160 || !containsAny(strings.ToLower(t), sigKeywords) {
		return false
	}
	if zhMobileSig.MatchString(t) && utf8.RuneCountInString(t) <= 40 {
		return true
	}
	words := strings.Fields(t)
	if otherMobileSig.MatchString(t) {
		return len(words) <= 10 || deviceWord.MatchString(strings.Join(words[:6], " "))
	}
	if sentLead.MatchString(t) {
		switch {
		case len(words) <= 5:
			return true
		case deviceWord.MatchString(strings.Join(words[:min(len(words), 6)], " ")):
			return true
		}
		// "Sent from my Wiko RIDGE FAB 4G": short, and no sentence in it.
		body := strings.TrimRight(t, ".!")
		return len(words) <= 8 && strings.HasPrefix(strings.ToLower(t), "sent from my") && !strings.ContainsAny(body, ",.;!?")
	}
	return len(words) <= 6 && fromMyDevice.MatchString(t)
}

// sigKeywords: a signature line holds one of these (a cheap filter).
var sigKeywords = []string{"发自", "来自", "來自", "寄自", "從", "从", "由", "sent", "from", "von", "envoy", "enviado",
	"inviato", "verzonden", "sendt", "skickat", "wysł", "отправ", "lähetetty", "get ", "get[", "diese"}

// bannerKeywords: a banner line holds one of these.
var bannerKeywords = []string{"caution", "warning", "attention", "notice", "external", "outside", "邮件", "郵件", "信"}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// isQuoteLine: ">" quoting, and Supercite initials ("JD> ").
func isQuoteLine(s string) bool {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for n := 0; n <= 3 && i+n < len(s); n++ {
		c := s[i+n]
		if c == '>' {
			return true
		}
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return false
}

// isBannerLine: the first line of a gateway warning paragraph.
func isBannerLine(s string) bool {
	return containsAny(strings.ToLower(s), bannerKeywords) && sentenceBanner.MatchString(s)
}

// stripTokenBanner removes a gateway tag at the start of s.
func stripTokenBanner(s string) (string, bool) {
	t := strings.TrimLeft(s, " \t")
	if !strings.HasPrefix(t, "[") && !strings.HasPrefix(t, "【") {
		return s, false
	}
	loc := tokenBanner.FindStringIndex(s)
	if loc == nil {
		return s, false
	}
	return s[loc[1]:], true
}

// isAttribution tells whether a (joined) line is a quote attribution.
func isAttribution(s string) bool {
	if len(s) > 600 {
		return false
	}
	t := strings.TrimSpace(s)
	date, email := hasDate.MatchString(t), hasEmail.MatchString(t)
	switch {
	case attrVerbEnd.MatchString(t) && (date || email):
		return true
	case attrVerbDate.MatchString(t) && date:
		return true
	case (strings.HasSuffix(t, ":") || strings.HasSuffix(t, "：")) && date && email:
		return true
	}
	return oldGmailDate.MatchString(t) && len(t) <= 200
}

// mayEndAttribution is a cheap filter for lines that can end an attribution.
func mayEndAttribution(s string) bool {
	t := strings.TrimRightFunc(s, unicode.IsSpace)
	if t == "" {
		return false
	}
	last, _ := utf8.DecodeLastRuneInString(t)
	switch last {
	case ':', '：', '-', '道', '了':
		return true
	}
	if strings.ContainsAny(t[:1], "0123456789") {
		return true
	}
	return attrVerbEnd.MatchString(tail(t, 48))
}

// tail returns about the last n bytes of s, cut at a rune start.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return s[i:]
}

// normalizeLine turns NBSP, U+3000 and other wide blanks into spaces and
// drops zero-width characters and a BOM.
func normalizeLine(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == '\r' || s[i] == '\t' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for _, r := range s {
		switch r {
		case '\u00a0', '\u3000', '\u2007', '\u202f', '\u2002', '\u2003', '\u2009', '\t':
			sb.WriteByte(' ')
		case '\ufeff', '\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u2060', '\r':
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}
