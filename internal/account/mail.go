package account

import "fmt"

// The mail the sign-in flows send: plain text, Korean first and English
// after, since the product's players are mostly in Korea. The code and
// link appear here and in the message only.

func verificationMail(u *User, code string) Mail {
	return Mail{
		To:      u.Email,
		Subject: "[Pointsbook] 이메일 인증 코드 / Your verification code",
		Body: fmt.Sprintf(`안녕하세요, %[1]s님.

Pointsbook 이메일 인증 코드: %[2]s

이 코드는 15분 동안 유효합니다. 가입하지 않으셨다면 이 메일을 무시하세요.

--

Hello %[1]s,

Your Pointsbook verification code is %[2]s.

It is valid for 15 minutes. If you did not sign up, ignore this message.
`, u.Nickname, code),
	}
}

func resetMail(u *User, link string) Mail {
	return Mail{
		To:      u.Email,
		Subject: "[Pointsbook] 비밀번호 재설정 / Reset your password",
		Body: fmt.Sprintf(`안녕하세요, %[1]s님.

아래 링크에서 새 비밀번호를 설정하세요. 링크는 1시간 동안 한 번만 쓸 수 있습니다.

%[2]s

요청하지 않으셨다면 이 메일을 무시하세요. 비밀번호는 바뀌지 않습니다.

--

Hello %[1]s,

Set a new password at the link below. It works once, within one hour.

%[2]s

If you did not ask for this, ignore this message; your password stays as it is.
`, u.Nickname, link),
	}
}
