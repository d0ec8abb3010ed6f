#include "framescribe/pixtral/load_window_engine.h"

#include "framescribe/inference/model_config.h"
#include "framescribe/inference/tokenizer.h"

namespace framescribe::pixtral {

std::unique_ptr<PixtralWindowEngine> load_window_engine(const std::string& model_dir,
                                                        const inference::EngineChoice& choice,
                                                        const inference::EngineOptions& engine,
                                                        PixtralWindowOptions window) {
  const inference::ModelConfig config = inference::load_config(model_dir, choice);
  inference::Tokenizer tok = inference::Tokenizer::load(inference::find_tokenizer(model_dir));
  return std::make_unique<PixtralWindowEngine>(
      config, std::move(tok), inference::load_engine(model_dir, engine), std::move(window));
}

}  // namespace framescribe::pixtral
