"""Languages that residents type in Latin letters and that py3langid misreads.

- Vietnamese without its diacritics ("nha minh o Minami-Azabu, rac chay do thu may?"): many residents
  type so (no Vietnamese keyboard on a work phone, chat habit). py3langid reads it as English,
  Tagalog or Italian: 0 of 166 held-out Vietnamese questions, diacritics removed, detected as vi.
- Hindi in Latin letters ("mujhe juminhyo chahiye, kaha milega?"): py3langid says tl or id, so a
  Hindi speaker was answered in Tagalog; recognised, it gets English and the list of languages.
- Nepali in Latin letters, "Roman Nepali" ("mero juminhyo kaha banaune ho?"): how many Nepali
  residents chat. py3langid says tl, ms, id or it (0 of 51 held-out messages detected as ne).

Both are recognised by their words: the share of a message's words found in a list. The lists:
words at least 3 (Vietnamese, unaccented) or 2 (Nepali: data/nlu/ne/faq_romanised.yml) of our
training examples use and at most 1 example of the en, tl, id, pt, es, fr (and unaccented vi) data,
pruned by hand of words common in those languages ("ban", "toi", "co", "hai"); Nepali's list is
completed with common function words and verb forms ("lai", "chha", "hola", "bata") and cleared of
words Hindi shares ("ghar", "paisa", "kaha"), and Hindi's own words ("hai", "kya") outvote it, so
that Hindi typed in Latin letters stays out. Measured on held-out questions, not on training data
(tests/data/romanised_questions.yaml and the other sets): 166 of 166 unaccented Vietnamese
questions and 48 of 51 Roman Nepali ones recognised; 0 of 1,940 en, tl, id, pt, es, fr and vi
questions (with and without diacritics) taken for the other language.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Optional

UNACCENTED_SYLLABLES = frozenset("""
    anh bac bai bao bau benh bi biet binh boc bong bung buoc buoi buon buu cac cach cai cam canh cao
    cau chai cham chan chao chau chay che chet chia chieu chinh chiu cho choi chong chu chua chuan
    chung chuyen cong cua cuc cung cuoc cuoi cuu dai dang danh dao dat dau dc dich diem dien dieu
    dinh dip doan doi dung duoc duong gap ghe ghi gi giai giam giao giat giay gio gioi giua giuong
    giup goi gom gui hanh hen het hiem hieu hoa hoac hoan hoat hoc hoi hom hon huong huu huy kem ket
    khac khai kham khan khi kho khoa khoan khoang khoc khoe khoi khong khu khuyet kiem kien kieu kip
    ktx ky lai lam lanh lao lau len lich lien loai loi lon lop luc luon luong luu mang manh met mien
    minh mot mua muc mui muon nam nan nay nen ngan ngap ngay nghe nghi nghiep ngoai ngon ngu nguoi
    nguyen nha nhan nhanh nhap nhat nhau nhe nhieu nho nhu nhua nhung noi nop nua nuoc nuoi phai
    phan phat phep phi phien phieu phong phu phuc phuong qua quan quat quen quoc quyen rac rang
    rieng roi rung rut sang sap sau sinh soat soc song sot sua suc suot tam tat tau tham thang thanh
    thap thay theo thi thien thieu thoai thoi thong thu thuc thue thuoc thuong tiem tien tieng tiep
    tiet tieu tim tinh toa toan tong tot tra trach trai trang tre trien trinh tro trong tru trung
    truoc truong tuan tuc tue tui tuoi tuyen uong uy vang vay viec vien viet vinh vn voi vua vuc vut
    xac xe xem xin xom xong xu xuat xuong yeu
""".split())

ROMAN_NEPALI_WORDS = frozenset("""
    aafno aako aama aaudaina aaunu aayo aba afno agadi ani arko audaina aunu bahek bahini bahira
    baje banauna barsa baschu bata bhada bhako bhancha bhane bhaneko bhanera bhanne bharkhar bhaye
    bhayeko bhayo bhitra bihe bujhdina bujhina bujhna bujhne buwa cha chahancha chahincha chahinchha
    chahiyo chaina chaiyo chha chhaina chhora chhori chhu chu darta dherai didi dine dinu diyena
    diyo dubai ekdam falnu farkine feri firta fohor garaune garaunu garcha garchha garchu garda
    gareko garera garna garne garnu garnuparcha garnuparchha garo hajur halna hamiharu hamilai hamro
    haru hoina hola huncha hunchha hunu jaanu janmeko janu jasto kahi kahile kaile kasai kasari
    kasko kasle kasto kata kati kehi kharcha khulcha khulla kina kohi kosle kun kura lagaunu lagcha
    lagchha lagdaina lageko lagnu lagyo lai lina linu lyayeko malai mero milcha milchha milne najik
    nikalna nikalne pachi paincha painchha parcha parchha parne paucha paune pheri purano ramro
    sabai sakchha sakchu sakdina sakincha sakinchha samma sanga sarda sare sareko tapaai tapai
    tapaiko thaha thahachaina thiyo timro tirna tirnu tyaha tyo uniharu usko uslai yaha
""".split())

# Hindi typed in Latin letters shares much vocabulary with Roman Nepali ("ghar", "paisa", "naam",
# left out of the list above). These words are Hindi's own: they keep such text from being taken
# for Nepali, and recognise it (py3langid says tl or id: a Hindi speaker was answered in Tagalog).
ROMAN_HINDI_WORDS = frozenset("""
    hai hain kya kaise kaisa mujhe mera meri mere karna karne karni nahi nahin hota hoti raha rahi
    rahe sakta sakti sakte chahiye aur bhi liya tha thi kahan milega milegi
""".split())

# Tagalog's function words and the everyday words of Taglish questions. py3langid reads short Taglish
# ("pwede ba makakuha ng jido teate kahit foreigner?") as English or is unsure. Left out on purpose:
# words other languages we see also use (ano: Portuguese "year"; dito, sana, para, pero, na: Spanish,
# Portuguese, Italian; kami, anak, kasi: Indonesian; nga, ba alone: Vietnamese without diacritics,
# checked first; ka, mo, pag, ho, may, sa: too short or shared).
TAGALOG_WORDS = frozenset("""
ang ng mga po opo ba bang ako ko namin natin amin atin akin kayo ninyo niyo nyo siya niya sila nila
kanila tayo yung iyong yun ito iyan paano saan kailan bakit magkano ilang ilan pwede puwede pwedeng
puwedeng kailangan kailangang lang lamang naman wala walang hindi salamat ulit galing papunta
papuntang nasa kahit daw raw meron mayroon wag huwag gusto alam tapos lahat dapat sino kung paki
pakisabi ngayon bukas kahapon saka kapag
""".split())

_WORD = re.compile(r"[a-z]+")


def unaccented(text: str) -> str:
    """The text without diacritics: "Đăng ký địa chỉ" → "Dang ky dia chi"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def has_vietnamese_letters(text: str) -> bool:
    """True if the text has a letter only Vietnamese uses (ă đ ĩ ơ ũ ư, or the tone-marked vowels
    U+1EA0-U+1EF9); à â é ê ô alone are French or Portuguese too."""
    return any(c in "ăđĩơũưĂĐĨƠŨƯ" or "\u1ea0" <= c <= "\u1ef9" for c in text)


def _words(text: str) -> list:
    return _WORD.findall(unaccented(text).lower())


def _enough(words: list, vocabulary: frozenset, min_share: float) -> int:
    """How many of the words are in the vocabulary if at least two and ``min_share`` of them, else 0."""
    hits = sum(1 for w in words if w in vocabulary)
    return hits if hits >= 2 and hits >= min_share * len(words) else 0


def looks_unaccented_vietnamese(text: str) -> bool:
    """True if a quarter or more of the text's words are Vietnamese syllables (at least two)."""
    return bool(_enough(_words(text), UNACCENTED_SYLLABLES, 0.25))


def looks_tagalog(text: str) -> bool:
    """True if at least two words, and a sixth of them, are Tagalog function words (Taglish mixes
    English words and Japanese terms in)."""
    return bool(_enough(_words(text), TAGALOG_WORDS, 1 / 6))


def roman_nepali_or_hindi(text: str) -> Optional[str]:
    """"ne" or "hi" if a fifth or more of the text's words (at least two) are that language's and more
    than the other's, else None. A fifth, not Vietnamese's quarter: such messages mix in English
    words and Japanese terms. The Latin-letter twin of language_detector.nepali_or_hindi."""
    words = _words(text)
    nepali = sum(1 for w in words if w in ROMAN_NEPALI_WORDS)
    hindi = sum(1 for w in words if w in ROMAN_HINDI_WORDS)
    for lang, vocabulary, others in (("ne", ROMAN_NEPALI_WORDS, hindi), ("hi", ROMAN_HINDI_WORDS, nepali)):
        hits = _enough(words, vocabulary, 0.2)
        if hits > others:
            return lang
    return None
