"""youtube_ugc dataset."""
