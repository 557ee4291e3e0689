"""A data set held in memory as uint8 HWC images plus integer labels (digits, ImageNet16)."""
from PIL import Image
from torch.utils.data import Dataset


class ImageArrayDataset(Dataset):
    """Subclasses set ``self.data`` (N x H x W x 3 uint8), ``self.targets`` (list of int) and ``self.transform``."""

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        image = Image.fromarray(self.data[index])
        if self.transform is not None:
            image = self.transform(image)
        return image, self.targets[index]
