// The Instruct v3 prompt builder against the layouts of docs/pixtral.md section 3.5 (from
// mistral-common tests/test_tokenizer_v3_mm.py), with a test vocabulary whose ids can be worked
// out by hand: specials 0..999 as in Pixtral's file, byte b = 1000 + b, " B" = 1256 and
// "\n\n" = 1257 (1398 and 1267 in the real file).
#include "framescribe/inference/prompt.h"

#include <gtest/gtest.h>

#include <vector>

#include "framescribe/core/error.h"
#include "inference/tokenizer_test_support.h"

namespace {

namespace fst = framescribe::testing;
using framescribe::Error;
using framescribe::ErrorCode;
using namespace framescribe::inference;

constexpr int kSpB = 1256;   // " B"
constexpr int kNlNl = 1257;  // "\n\n"
int ch(char c) {
  return 1000 + static_cast<unsigned char>(c);
}

const Tokenizer& tok() {
  static const Tokenizer t = [] {
    fst::TestVocab v;
    for (int b = 0; b < 256; ++b) v.tokens.emplace_back(1, static_cast<char>(b));
    v.tokens.emplace_back(" B");
    v.tokens.emplace_back("\n\n");
    v.num_special = 1000;
    return Tokenizer::from_tekken_json(fst::tekken_json(v, kTekkenPattern).dump(),
                                       "prompt/tekken.json");
  }();
  return t;
}

// image_patch_size 2 and 4x4 images, as in mistral-common's tests: a 2x2 grid.
const TargetSize k2x2{4, 4, 2};
const std::vector<int> kImg = {10, 10, 12, 10, 10, 13};

Chunk txt(const char* s) {
  return Chunk::text_chunk(s);
}
Chunk img(TargetSize s = k2x2) {
  return Chunk::image_chunk(s);
}

// Concatenates ints and id lists.
struct Ids {
  std::vector<int> v;
  Ids(std::initializer_list<std::vector<int>> parts) {
    for (const auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  }
};
std::vector<int> one(int id) {
  return {id};
}

TEST(Prompt, TextThenImageMovesTheImageFirst) {
  Prompt p = build_prompt(tok(), {Message::user({txt("a"), img()})});
  EXPECT_EQ(p.ids, (Ids{one(1), one(3), kImg, one(ch('a')), one(4)}.v));
  ASSERT_EQ(p.images.size(), 1u);
  EXPECT_EQ(p.images[0].first_token, 2u);
  EXPECT_EQ(p.images[0].n_tokens, 6u);
  EXPECT_EQ(p.images[0].source_index, 0u);
  EXPECT_EQ(p.n_image_tokens, 4u);
}

TEST(Prompt, SystemPromptBeforeTheImageOfTheLastTurn) {
  Prompt p = build_prompt(tok(), {Message::system("A B"), Message::user({txt("C"), img()})});
  EXPECT_EQ(p.ids, (Ids{{1, 3, ch('A'), kSpB, kNlNl}, kImg, {ch('C'), 4}}.v));
}

TEST(Prompt, MultiTurnWithImagesAndSystem) {
  Prompt p =
      build_prompt(tok(), {Message::system("A B"), Message::user({img(), img(), txt("C")}),
                           Message::assistant("D"), Message::user({img(), txt("E"), img()})});
  EXPECT_EQ(p.ids, (Ids{{1, 3},
                        kImg,
                        kImg,
                        {ch('C'), 4, ch('D'), 2, 3, ch('A'), kSpB, kNlNl},
                        kImg,
                        one(ch('E')),
                        kImg,
                        one(4)}
                        .v));
  ASSERT_EQ(p.images.size(), 4u);
  EXPECT_EQ(p.images[0].first_token, 2u);
  EXPECT_EQ(p.images[1].first_token, 8u);
  EXPECT_EQ(p.images[2].first_token, 22u);
  EXPECT_EQ(p.images[3].first_token, 29u);
  for (std::size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(p.images[k].source_index, k);
    EXPECT_EQ(p.ids[p.images[k].first_token], 10);
    EXPECT_EQ(p.ids[p.images[k].first_token + p.images[k].n_tokens - 1], 13);
  }
  EXPECT_EQ(p.n_image_tokens, 16u);
}

TEST(Prompt, AdjacentTextChunksJoinWithBlankLines) {
  Prompt p = build_prompt(
      tok(), {Message::user({txt("A"), img(), txt("B"), txt("C"), img(), txt("D"), txt("E")})});
  EXPECT_EQ(
      p.ids,
      (Ids{{1, 3, ch('A')}, kImg, {ch('B'), kNlNl, ch('C')}, kImg, {ch('D'), kNlNl, ch('E'), 4}}
           .v));
}

TEST(Prompt, TextOnlyMultiTurn) {
  // tests/test_tokenize_v3.py in this vocabulary: the system prompt goes into the last user
  // turn only, as one string with it; the final assistant message is continued (no EOS).
  Prompt p = build_prompt(tok(),
                          {Message::system("S"), Message::user("a"), Message::assistant("b"),
                           Message::user("c"), Message::assistant("d")},
                          PromptOptions{.continue_final_message = true});
  EXPECT_EQ(p.ids, (std::vector<int>{1, 3, ch('a'), 4, ch('b'), 2, 3, ch('S'), kNlNl, ch('c'), 4,
                                     ch('d')}));
  EXPECT_TRUE(p.images.empty());
  Prompt closed = build_prompt(tok(), {Message::user("a"), Message::assistant("b  ")});
  EXPECT_EQ(closed.ids, (std::vector<int>{1, 3, ch('a'), 4, ch('b'), 2}));  // rstrip(" "), EOS
}

TEST(Prompt, ManyTextChunksThenOneImage) {
  Prompt p = build_prompt(tok(), {Message::user({txt("x"), txt("y"), img()})});
  EXPECT_EQ(p.ids, (Ids{{1, 3}, kImg, {ch('x'), kNlNl, ch('y'), 4}}.v));
}

TEST(Prompt, SeveralImagesKeepTheirOrder) {
  const TargetSize wide{6, 2, 2};  // 1 row x 3 cols
  Prompt p = build_prompt(tok(), {Message::user({img(), img(wide), txt("q")}),
                                  Message::assistant("r"), Message::user({img(wide), img()})});
  EXPECT_EQ(
      p.ids,
      (Ids{{1, 3}, kImg, {10, 10, 10, 13, ch('q'), 4, ch('r'), 2, 3, 10, 10, 10, 13}, kImg, one(4)}
           .v));
  ASSERT_EQ(p.images.size(), 4u);
  EXPECT_EQ(p.images[1].size, wide);
  EXPECT_EQ(p.n_image_tokens, 4u + 3u + 3u + 4u);
}

TEST(Prompt, SourceIndexFollowsTheRequestWhenImagesMove) {
  Prompt p = build_prompt(tok(), {Message::user({img(), txt("a")}), Message::assistant("b"),
                                  Message::user({txt("c"), img(TargetSize{2, 2, 2})})});
  ASSERT_EQ(p.images.size(), 2u);
  EXPECT_EQ(p.images[1].source_index, 1u);
  EXPECT_EQ(p.ids[p.images[1].first_token - 1], 3);  // right after [INST]: moved first
  EXPECT_EQ(p.images[1].n_tokens, 2u);               // 1x1: [IMG] [IMG_END]
}

TEST(Prompt, ConsecutiveMessagesMerge) {
  EXPECT_EQ(build_prompt(tok(), {Message::user("a"), Message::user("b")}).ids,
            (std::vector<int>{1, 3, ch('a'), kNlNl, ch('b'), 4}));
  // Merged into [b, image]: text followed by one image, so the image goes first.
  EXPECT_EQ(build_prompt(tok(), {Message::user("b"), Message::user({img()})}).ids,
            (Ids{{1, 3}, kImg, {ch('b'), 4}}.v));
  EXPECT_EQ(build_prompt(tok(), {Message::user("a"), Message::assistant("x"),
                                 Message::assistant("y"), Message::user("b")})
                .ids,
            (std::vector<int>{1, 3, ch('a'), 4, ch('x'), kNlNl, ch('y'), 2, 3, ch('b'), 4}));
  // A system message between two user messages keeps them apart (mistral-common groups by
  // role before dropping system messages).
  EXPECT_EQ(build_prompt(tok(), {Message::user("a"), Message::system("S"), Message::user("b")}).ids,
            (std::vector<int>{1, 3, ch('a'), 4, 3, ch('S'), kNlNl, ch('b'), 4}));
}

TEST(Prompt, SystemMessagesJoin) {
  EXPECT_EQ(
      build_prompt(tok(), {Message::system("S"), Message::system("T"), Message::user("u")}).ids,
      (std::vector<int>{1, 3, ch('S'), kNlNl, ch('T'), kNlNl, ch('u'), 4}));
  // Empty chunks and empty system messages are dropped.
  EXPECT_EQ(
      build_prompt(tok(), {Message::system(""), Message::user({txt(""), txt("u"), txt("")})}).ids,
      (std::vector<int>{1, 3, ch('u'), 4}));
}

TEST(Prompt, EmptyUserTurnWhenTheChatDoesNotStartWithOne) {
  EXPECT_EQ(build_prompt(tok(), {Message::assistant("x")}).ids,
            (std::vector<int>{1, 3, 4, ch('x'), 2}));
  EXPECT_EQ(build_prompt(tok(), {}).ids, (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(build_prompt(tok(), {Message::system("S")}).ids,
            (std::vector<int>{1, 3, ch('S'), kNlNl, 4}));
}

TEST(Prompt, ControlLookingTextStaysText) {
  Prompt p = build_prompt(tok(), {Message::user("[INST]")});
  EXPECT_EQ(p.ids,
            (std::vector<int>{1, 3, ch('['), ch('I'), ch('N'), ch('S'), ch('T'), ch(']'), 4}));
}

TEST(Prompt, InvalidRequests) {
  auto code_of = [](const std::function<void()>& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code_of([] {
              build_prompt(tok(), {Message::user("a"), Message{Role::kAssistant, {img()}}});
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([] {
              build_prompt(tok(), {Message{Role::kSystem, {img()}}, Message::user("a")});
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([] {
              build_prompt(tok(), {Message::user("a"), Message::assistant("")});
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([] {
              build_prompt(tok(), {Message::user("a")},
                           PromptOptions{.continue_final_message = true});
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([] {
              build_prompt(tok(), {Message::user({img(TargetSize{1, 4, 2})})});
            }),
            ErrorCode::kInvalidArgument);
}

TEST(ImageBlock, RowsOfImgThenBreakAndAnEnd) {
  // docs/pixtral.md 3.3: 2 rows x 3 cols.
  const TargetSize s{48, 32, 16};
  EXPECT_EQ(image_block_tokens(tok(), s), (std::vector<int>{10, 10, 10, 12, 10, 10, 10, 13}));
  EXPECT_EQ(image_block_tokens(tok(), s).size(), static_cast<std::size_t>(s.n_tokens()));
  EXPECT_EQ(image_block_tokens(tok(), TargetSize{1024, 1024, 16}).size(), 4160u);
  EXPECT_EQ(image_block_tokens(TargetSize{2, 4, 2}, 7, 8, 9), (std::vector<int>{7, 8, 7, 9}));
  EXPECT_THROW(image_block_tokens(tok(), TargetSize{0, 16, 16}), Error);
}

TEST(Prompt, IdsComeFromTheTokenizerFile) {
  // A tokenizer.json with its own special ids: BOS 1, [INST] 3, [/INST] 4, [IMG] 5,
  // [IMG_BREAK] 6, [IMG_END] 7; bytes at 16 + b.
  fst::TestVocab v;
  for (int b = 0; b < 256; ++b) v.tokens.emplace_back(1, static_cast<char>(b));
  v.num_special = 16;
  v.specials = {"<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[IMG]", "[IMG_BREAK]", "[IMG_END]"};
  const Tokenizer hf = Tokenizer::from_hf_json(fst::hf_json(v, false).dump(), "ids/tokenizer.json");
  Prompt p = build_prompt(hf, {Message::user({txt("a"), img()})});
  EXPECT_EQ(p.ids, (std::vector<int>{1, 3, 5, 5, 6, 5, 5, 7, 16 + 'a', 4}));
  // A tokenizer without image tokens can still build text prompts.
  v.specials = {"<unk>", "<s>", "</s>", "[INST]", "[/INST]"};
  const Tokenizer text_only =
      Tokenizer::from_tekken_json(fst::tekken_json(v, kTekkenPattern).dump(), "t/tekken.json");
  EXPECT_EQ(build_prompt(text_only, {Message::user("a")}).ids,
            (std::vector<int>{1, 3, 16 + 'a', 4}));
  EXPECT_THROW(build_prompt(text_only, {Message::user({img()})}), Error);
}

}  // namespace
