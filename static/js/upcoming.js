// A scheduled story's "starts at" page (public/upcoming.py): it listens on the story's live
// socket, and the frame that opens the story (the scheduler's story.updated, or an editor's)
// brings the live page in, with no reload by the reader. The reader's clock is never asked: it
// may be wrong, and the story may open late or early; the frame is the truth.
import { followStory } from "./live-socket.js";

const story = document.getElementById("story");

if (story && story.dataset.liveUrl) {
  followStory(story, {
    apply(frame) {
      if (frame.type === "story.updated" && frame.story && frame.story.status !== "draft") {
        // The page, asked again (a reload revalidates), is now the live story.
        window.location.reload();
      }
    },
  });
}
